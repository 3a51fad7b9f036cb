from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.errors import KeyMaterialError
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.normalise import normalise_name, normalise_postcode
from hub.privacy.token import make_token


def test_same_person_same_token_despite_formatting(keys: LocalKeyProvider) -> None:
    key = keys.current("msn")
    a = make_token(key, "|".join([normalise_name(" Kayden "), normalise_name("O'BRIEN")]))
    b = make_token(key, "|".join([normalise_name("kayden"), normalise_name("O Brien")]))
    assert a == b


def test_domains_do_not_link(keys: LocalKeyProvider) -> None:
    value = "kayden|obrien|2011-03-04"
    assert make_token(keys.current("msn"), value) != make_token(keys.current("mash"), value)


def test_token_is_keyed_not_a_plain_hash(tmp_path: Path) -> None:
    value = "kayden|obrien|2011-03-04"
    one = LocalKeyProvider(tmp_path, {"msn": SecretStr(base64.b64encode(b"a" * 32).decode())})
    two = LocalKeyProvider(tmp_path, {"msn": SecretStr(base64.b64encode(b"b" * 32).decode())})
    assert make_token(one.current("msn"), value) != make_token(two.current("msn"), value)


def test_token_names_domain_and_key_version(keys: LocalKeyProvider) -> None:
    token = make_token(keys.current("msn"), "x")
    assert token.startswith("tok.msn.cfg1.")


def test_dev_key_generated_once_owner_only(tmp_path: Path) -> None:
    provider = LocalKeyProvider(tmp_path / "keys")
    first = provider.current("research")
    path = tmp_path / "keys" / "research.key.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = LocalKeyProvider(tmp_path / "keys").current("research")
    assert first.secret == again.secret and len(first.secret) == 32
    assert "secret" not in repr(first) and first.secret.hex() not in repr(first)


def test_short_configured_key_is_refused(tmp_path: Path) -> None:
    provider = LocalKeyProvider(tmp_path, {"msn": SecretStr(base64.b64encode(b"short").decode())})
    with pytest.raises(KeyMaterialError, match="at least 32"):
        provider.current("msn")


def test_postcode_normalisation() -> None:
    assert normalise_postcode(" l8 1tx ") == "L81TX"
