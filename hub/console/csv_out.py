"""CSV responses: every table the console shows can be taken away as a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi.responses import Response

# A cell starting with one of these is a formula to a spreadsheet: an event id or a reason
# crafted by a sender must not run in an IG officer's Excel (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        text = json.dumps(value, sort_keys=True)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()


def csv_response(
    filename: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> Response:
    return Response(
        csv_text(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
