"""Key rings: configured versions, the development store, rotation, and secrets kept secret."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.config import load_settings
from hub.errors import KeyMaterialError
from hub.privacy.keys import KeyRing, LocalKeyProvider, PseudonymKey, parse_key_spec
from hub.privacy.token import make_token, parse_token

K1 = bytes(range(32))
K2 = bytes(range(100, 140))


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def secret_forms(raw: bytes) -> list[str]:
    """Every way a secret could show up in text."""
    return [b64(raw), raw.hex(), repr(raw)[2:-1], str(list(raw))[1:-1]]


def assert_hidden(secrets: list[bytes], *texts: str) -> None:
    """No form of any of the secrets appears in any of the texts."""
    for text in texts:
        for raw in secrets:
            for form in secret_forms(raw):
                assert form not in text


def test_single_key_form_still_works() -> None:
    ring = parse_key_spec("msn", b64(K1))
    assert ring.key_ids == ("cfg1",) and ring.current.secret == K1


def test_several_versions_first_is_current() -> None:
    ring = parse_key_spec("msn", f"k2:{b64(K2)}, k1:{b64(K1)}")
    assert ring.key_ids == ("k2", "k1")
    assert ring.current.secret == K2
    old = ring.get("k1")
    assert old is not None and old.secret == K1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (f"K2:{b64(K2)}", "lowercase"),
        (f"k.2:{b64(K2)}", "lowercase"),
        (f"k2:{b64(K2)},{b64(K1)}", "'<key id>:<base64>'"),
        (f"k1:{b64(K2)},k1:{b64(K1)}", "repeats a key id"),
        (f"k2:{b64(b'short')}", "at least 32"),
        ("k2:not base64!", "not valid base64"),
    ],
)
def test_malformed_specs_are_refused_without_quoting_secrets(spec: str, message: str) -> None:
    with pytest.raises(KeyMaterialError, match=message) as info:
        parse_key_spec("msn", spec)
    assert_hidden([K1, K2], str(info.value))


def test_keys_from_environment_with_several_versions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HUB_PSEUDONYM_KEYS__MSN", f"k2:{b64(K2)},k1:{b64(K1)}")
    monkeypatch.setenv("HUB_PSEUDONYM_KEYS__MASH", b64(K1))
    settings = load_settings(data_dir=tmp_path)
    provider = LocalKeyProvider(tmp_path / "keys", settings.pseudonym_keys)
    assert provider.ring("msn").key_ids == ("k2", "k1")
    assert provider.current("msn").secret == K2
    assert provider.current("mash").key_id == "cfg1"
    assert not (tmp_path / "keys").exists()  # configured domains never touch the store
    texts = (repr(settings), str(settings), repr(provider), repr(provider.ring("msn")))
    assert_hidden([K1, K2], *texts)


def test_bad_key_in_environment_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_PSEUDONYM_KEYS__MSN", f"k2:{b64(b'too short')}")
    with pytest.raises(KeyMaterialError, match="'k2' for linkage domain 'msn'"):
        load_settings()


def test_dev_key_generated_once_owner_only_and_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = LocalKeyProvider(tmp_path / "keys")
    first = provider.current("research")
    path = tmp_path / "keys" / "research.key.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert first.key_id == "dev1" and len(first.secret) == 32
    assert first.created_at is not None and first.activated_at is not None
    again = LocalKeyProvider(tmp_path / "keys").current("research")
    assert again.secret == first.secret
    assert "dev1" in caplog.text  # the generation is logged, by key id
    assert_hidden([first.secret], caplog.text, repr(first), str(first), repr(provider))


def test_original_single_key_file_is_still_read(tmp_path: Path) -> None:
    (tmp_path / "msn.key.json").write_text(
        json.dumps({"domain": "msn", "key_id": "dev1", "secret": b64(K1), "note": "old"})
    )
    assert LocalKeyProvider(tmp_path).current("msn").secret == K1


def test_rotation_makes_a_new_current_version_and_keeps_the_old(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = LocalKeyProvider(tmp_path / "keys")
    old = provider.current("msn")
    before = make_token(old, "kayden|obrien|2011-03-04")
    new = provider.rotate("msn")
    assert new.key_id == "dev2" and new.secret != old.secret
    after = make_token(provider.current("msn"), "kayden|obrien|2011-03-04")
    parts_before, parts_after = parse_token(before), parse_token(after)
    assert parts_before and parts_after
    assert (parts_before.key_id, parts_after.key_id) == ("dev1", "dev2")
    assert parts_before.digest != parts_after.digest
    # The old version is still loadable, by this process and by a fresh one.
    for ring in (provider.ring("msn"), LocalKeyProvider(tmp_path / "keys").ring("msn")):
        assert ring.key_ids == ("dev2", "dev1")
        kept = ring.get("dev1")
        assert kept is not None and kept.secret == old.secret
    assert provider.rotate("msn").key_id == "dev3"
    path = tmp_path / "keys" / "msn.key.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert_hidden([version.secret for version in provider.ring("msn").versions], caplog.text)


def test_configured_domains_are_not_rotated_here(tmp_path: Path) -> None:
    provider = LocalKeyProvider(tmp_path, {"MSN": SecretStr(b64(K1))})
    with pytest.raises(KeyMaterialError, match="HUB_PSEUDONYM_KEYS__MSN"):
        provider.rotate("msn")


def test_domain_cannot_escape_the_keys_folder(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="lowercase letters"):
        LocalKeyProvider(tmp_path / "keys").current("../../etc/evil")


def test_key_and_ring_reprs_hide_the_secret() -> None:
    key = PseudonymKey("msn", "k1", K1)
    ring = KeyRing("msn", (key,))
    for text in (repr(key), str(key), repr(ring), str(ring), f"{key}", f"{ring!r}"):
        assert "k1" in text
        assert_hidden([K1], text)


def test_empty_ring_is_refused() -> None:
    with pytest.raises(KeyMaterialError, match="no key"):
        KeyRing("msn", ())


def test_unreadable_dev_key_file_is_reported_without_its_content(tmp_path: Path) -> None:
    (tmp_path / "msn.key.json").write_text('{"versions": [{"key_id": "dev1", "secret": "' + b64(K1))
    with pytest.raises(KeyMaterialError, match="cannot read development key") as info:
        LocalKeyProvider(tmp_path).current("msn")
    assert_hidden([K1], str(info.value))
