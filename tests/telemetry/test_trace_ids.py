"""Trace ids without an exporter: a fresh W3C context where there is none, the one given
kept, and log lines that name the trace of the record they are about."""

from __future__ import annotations

import logging

import pytest

from hub.telemetry.logs import JsonFormatter, TextFormatter
from hub.telemetry.tracing import (
    Passthrough,
    TraceIdFilter,
    ensure_traceparent,
    record_trace,
    trace_id_from,
)

GIVEN = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_record_without_context_gets_a_new_trace() -> None:
    headers: list[tuple[str, bytes]] = [("hub.x", b"1")]
    trace_id = ensure_traceparent(headers)
    assert len(trace_id) == 32 and int(trace_id, 16)
    assert trace_id_from(dict(headers)["traceparent"]) == trace_id
    other: list[tuple[str, bytes]] = []
    assert ensure_traceparent(other) != trace_id


def test_a_given_context_is_kept() -> None:
    headers = [("traceparent", GIVEN)]
    assert ensure_traceparent(headers) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert headers == [("traceparent", GIVEN)]


@pytest.mark.parametrize(
    "bad", [b"00-00000000000000000000000000000000-00f067aa0ba902b7-01", b"garbage", b"00-zz-1-01"]
)
def test_an_invalid_context_is_replaced_not_carried(bad: bytes) -> None:
    headers = [("traceparent", bad), ("tracestate", b"k=v")]
    trace_id = ensure_traceparent(headers)
    assert [k for k, _v in headers] == ["traceparent"]
    assert trace_id_from(headers[0][1]) == trace_id
    assert Passthrough({"traceparent": bad}).trace_id is None


def _line(formatter: logging.Formatter, trace: str | None) -> str:
    record = logging.makeLogRecord({"msg": "decided", "levelno": 20, "levelname": "INFO"})
    with record_trace(trace):
        TraceIdFilter().filter(record)
    return formatter.format(record)


def test_log_lines_name_the_record_trace() -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert _line(TextFormatter(), trace_id).endswith(f"[trace {trace_id}]")
    assert f'"trace_id": "{trace_id}"' in _line(JsonFormatter(), trace_id)
    # Outside a record: nothing added.
    assert "trace" not in _line(TextFormatter(), None)
    assert "trace_id" not in _line(JsonFormatter(), None)
