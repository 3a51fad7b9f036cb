"""JSON log lines: one parsable object per line with the fields a log shipper indexes."""

from __future__ import annotations

import json
import logging

from hub.telemetry.logs import JsonFormatter


def test_json_lines_carry_level_logger_message_and_extras() -> None:
    record = logging.makeLogRecord(
        {
            "name": "hub.processor",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "dead-lettered partner=%s offset=%d",
            "args": ("merseyside-police", 12),
            "partner": "merseyside-police",
        }
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "warning" and entry["logger"] == "hub.processor"
    assert entry["message"] == "dead-lettered partner=merseyside-police offset=12"
    assert entry["partner"] == "merseyside-police" and entry["time"].endswith("+00:00")
