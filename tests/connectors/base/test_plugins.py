"""Connectors are built by a lookup on ``kind``: every kind the configuration accepts has a
registered factory, and an unregistered kind is refused by name."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from connectors.base import config as cfg
from connectors.base.config import parse_config
from connectors.base.errors import ConnectorConfigError
from connectors.base.plugins import register_sink, sink_factory, source_factory
from connectors.base.runtime import build_writer, check
from connectors.sinks.dummy import DummyWriter


def _kinds(union: object) -> list[str]:
    members = typing.get_args(typing.get_args(union)[0])
    return [typing.get_args(m.model_fields["kind"].annotation)[0] for m in members]


@pytest.mark.parametrize("kind", _kinds(cfg.SourceConfig))
def test_every_source_kind_has_a_factory(kind: str) -> None:
    assert callable(source_factory(kind))


@pytest.mark.parametrize("kind", _kinds(cfg.SinkConfig))
def test_every_sink_kind_has_a_factory(kind: str) -> None:
    assert callable(sink_factory(kind))


def test_an_unknown_kind_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConnectorConfigError, match=r"kind 'carrier-pigeon'.*drop-folder"):
        source_factory("carrier-pigeon")
    with pytest.raises(ConnectorConfigError, match=r"sink plug-in.*'ftp'.*sql-upsert"):
        sink_factory("ftp")


def test_building_a_sink_writer_is_the_registered_factory(tmp_path: Path) -> None:
    config = parse_config(
        {
            "name": "x",
            "recipient": "liverpool-mash",
            "state_dir": str(tmp_path),
            "sink": {"kind": "dummy", "path": str(tmp_path / "out.jsonl")},
        }
    )
    writer = build_writer(config, {})
    assert isinstance(writer, DummyWriter) and writer.system == "x"
    # A registration replaces the factory the lookup finds (a partner's own dummy).
    made: list[str] = []
    original = sink_factory("dummy")
    try:

        @register_sink("dummy")
        def mine(
            sink: cfg.DummySinkConfig, config: cfg.ConnectorConfig, env: object
        ) -> DummyWriter:
            made.append(config.name)
            return DummyWriter(sink.path, "mine")

        assert build_writer(config, {}).system == "mine" and made == ["x"]
    finally:
        register_sink("dummy")(original)


def test_check_asks_the_plugin_for_its_secrets(tmp_path: Path) -> None:
    config = parse_config(
        {
            "name": "x",
            "recipient": "msn",
            "state_dir": str(tmp_path),
            "sink": {"kind": "http-push", "url": "https://msn.example", "token_env": "MSN_TOKEN"},
        }
    )
    assert "environment variable MSN_TOKEN is not set" in check(config, {}).problems
    assert check(config, {"MSN_TOKEN": "t"}).ok
