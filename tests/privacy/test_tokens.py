from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from hub.agreements import Agreement
from hub.catalogue import EventType
from hub.errors import KeyMaterialError
from hub.policy import compile_plan
from hub.privacy import Transformer
from hub.privacy.keys import LocalKeyProvider, parse_key_spec
from hub.privacy.normalise import normalise_name, normalise_postcode
from hub.privacy.token import (
    PERSON,
    check_token,
    make_token,
    parse_token,
    tokens_by_version,
)
from tests.privacy.builders import agreement, concern_event


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
    parts = parse_token(token)
    assert parts is not None and (parts.domain, parts.key_id) == ("msn", "cfg1")
    assert len(parts.digest) == 40
    assert parse_token("tok.msn.cfg1.not-a-digest") is None


def test_kinds_are_domain_separated(keys: LocalKeyProvider) -> None:
    key = keys.current("msn")
    assert make_token(key, "9434765919", "nhs-number") != make_token(key, "9434765919", "text")
    assert make_token(key, "kayden", PERSON) != make_token(key, "kayden", "name")


def test_short_configured_key_is_refused(tmp_path: Path) -> None:
    provider = LocalKeyProvider(tmp_path, {"msn": SecretStr(base64.b64encode(b"short").decode())})
    with pytest.raises(KeyMaterialError, match="at least 32"):
        provider.current("msn")


def test_tokens_under_every_version_and_checking_them() -> None:
    k1 = base64.b64encode(b"1" * 32).decode()
    k2 = base64.b64encode(b"2" * 32).decode()
    ring = parse_key_spec("msn", f"k2:{k2},k1:{k1}")
    both = tokens_by_version(ring, "9434765919", "nhs-number")
    assert list(both) == ["k2", "k1"]
    assert both["k2"].startswith("tok.msn.k2.") and both["k1"].startswith("tok.msn.k1.")
    for token in both.values():
        assert check_token(ring, token, "9434765919", "nhs-number")
        assert not check_token(ring, token, "9434765927", "nhs-number")
        assert not check_token(ring, token, "9434765919", "text")
    assert not check_token(parse_key_spec("msn", k1), both["k2"], "9434765919", "nhs-number")
    assert not check_token(parse_key_spec("mash", f"k2:{k2}"), both["k2"], "9434765919")


def test_postcode_normalisation() -> None:
    assert normalise_postcode(" l8 1tx ") == "L81TX"


def _tokens(
    concern_type: EventType, keys: LocalKeyProvider, a: Agreement, event: dict[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    result = Transformer(keys).apply_with_notes(compile_plan(a, concern_type), event, concern_type)
    return result.record["subject"], result.notes


# A record without a clause of its own is dropped whole, so the subject is kept and
# everything in it but the two identifiers dropped by tag.
STRONG = [
    {"id": "subject", "field": "subject", "treatment": "keep"},
    {"id": "nhs", "field": "subject.nhs_number", "treatment": "token", "domain": "msn"},
    {"id": "pnc", "tag": "pnc-id", "treatment": "token", "domain": "msn"},
    {"id": "no-direct", "tag": "pii.direct", "treatment": "drop"},
    {"id": "no-quasi", "tag": "pii.quasi", "treatment": "drop"},
]


def test_strong_identifiers_use_their_normalisation(
    concern_type: EventType, keys: LocalKeyProvider
) -> None:
    a = agreement(STRONG)
    one, _ = _tokens(
        concern_type, keys, a, concern_event(nhs_number="943 476 5919", pnc_id="79/163001b")
    )
    two, _ = _tokens(
        concern_type, keys, a, concern_event(nhs_number="9434765919", pnc_id="1979/0163001B")
    )
    assert one == two
    assert one["nhs_number"] == make_token(keys.current("msn"), "9434765919", "nhs-number")


def test_invalid_nhs_number_gives_no_token_and_a_reason(
    concern_type: EventType, keys: LocalKeyProvider
) -> None:
    out, notes = _tokens(
        concern_type,
        keys,
        agreement(STRONG),
        concern_event(nhs_number="943 476 5918", pnc_id="2008/0056561Z"),
    )
    assert out == {"nhs_number": None, "pnc_id": None}
    assert notes == (
        "subject.nhs_number: not tokenised: NHS number check digit does not match (likely a typo)",
        "subject.pnc_id: not tokenised: PNC id check letter does not match (likely a typo)",
    )


PERSON_TOKEN = [{"id": "who", "field": "subject", "treatment": "token", "domain": "msn"}]


def test_person_token_is_null_without_any_identity(
    concern_type: EventType, keys: LocalKeyProvider
) -> None:
    out, _ = _tokens(
        concern_type,
        keys,
        agreement(PERSON_TOKEN),
        concern_event(given_name=" ", family_name="'", date_of_birth=None),
    )
    assert out == {"token": None}


def test_person_token_with_a_missing_part_differs_from_the_complete_one(
    concern_type: EventType, keys: LocalKeyProvider
) -> None:
    a = agreement(PERSON_TOKEN)
    known, _ = _tokens(concern_type, keys, a, concern_event())
    unknown, _ = _tokens(concern_type, keys, a, concern_event(date_of_birth=None))
    assert known["token"] and unknown["token"] and known["token"] != unknown["token"]


@pytest.mark.parametrize("length", [32, 63, 64, 65, 100])
def test_token_is_the_rfc_2104_hmac_of_its_input(length: int) -> None:
    """The digest is computed from the key's padded SHA-256 states (hub/privacy/keys.py
    ``pads``); it must be HMAC-SHA256 exactly, for keys shorter and longer than a block."""
    import hmac

    from hub.privacy.keys import PseudonymKey

    secret = bytes(range(length))
    key = PseudonymKey("audit", "k1", secret)
    text = "given=kayden\x1ffamily=obrien\x1fdob=2010-01-02"
    mac = hmac.new(secret, f"hub-token-v1\x1faudit\x1fperson\x1f{text}".encode(), "sha256")
    expected = base64.b32encode(mac.digest()).decode().lower()[:40]
    assert make_token(key, text, PERSON) == f"tok.audit.k1.{expected}"
