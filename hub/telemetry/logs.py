"""Log lines as JSON objects (``HUB_LOG_FORMAT=json``) for log shippers: one object per line
with time, level, logger and message. What the hub logs names partners, topics, offsets,
event and file ids, never personal data; this formatter adds nothing from the records."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from hub.telemetry.tracing import TraceIdFilter

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key == "trace_id" and not value:
                continue  # outside a record: no empty field on every line
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For people: ``time level logger: message``, then ``[trace <id>]`` about a record."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        trace_id = getattr(record, "trace_id", "")
        return f"{line} [trace {trace_id}]" if trace_id else line


def configure_logging(level: int, fmt: str) -> None:
    """``fmt``: ``text`` (default, for people) or ``json`` (for log shippers)."""
    handler = logging.StreamHandler()
    # Every line about a record names its trace id, exporter or not (hub/telemetry/tracing.py).
    handler.addFilter(TraceIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
