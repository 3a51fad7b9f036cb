"""Properties of the privacy transform over generated people and generated agreements.

Agreements are built here and compiled by the real plan compiler against the real
SafeguardingConcern schema; people carry the noise of real records (see strategies.py).
  (a) no output field exists that the plan does not allow;
  (b) no value of a dropped or tokenised field appears in the output in any form;
  (c) tokens are stable for one normalised identity and differ across domains and keys;
  (d) an invalid NHS number never yields a token, so never one equal to a valid number's.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import fastavro
import fastavro.validation
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from hub.catalogue import load_catalogue
from hub.policy import FieldPlan, RecordPlan, compile_plan
from hub.privacy import LocalKeyProvider, Transformer, derive_output_schema
from hub.privacy.normalise import normalise, normalise_name
from hub.privacy.token import tokens_by_version
from tests.privacy.builders import agreement, concern_event, person, with_defaults
from tests.privacy.strategies import (
    base_names,
    clauses,
    mistyped_nhs,
    narrative_about,
    nhs_digits,
    people,
    pnc_ids,
    presented,
    spaced_nhs,
)

ROOT = Path(__file__).resolve().parents[2]
_concern = load_catalogue(ROOT / "schemas" / "avro").get("safeguarding-concern")
assert _concern is not None
CONCERN = _concern
TOKEN = re.compile(r"tok\.(?P<domain>[a-z0-9-]+)\.(?P<key>[a-z0-9]+)\.[a-z2-7]{40}")


def _key(n: int) -> str:
    return base64.b64encode(bytes([n]) * 32).decode()


# Configured keys only, so nothing is written to disk; an unexpected domain fails loudly
# on the unwritable folder. OLD_KEYS is the same set before msn's rotation from k1 to k2.
_NO_DIR = Path("/nonexistent/hub-test-keys")
KEYS = LocalKeyProvider(
    _NO_DIR, {"msn": SecretStr(f"k2:{_key(2)},k1:{_key(1)}"), "mash": SecretStr(_key(3))}
)
OLD_KEYS = LocalKeyProvider(_NO_DIR, {"msn": SecretStr(f"k1:{_key(1)}")})
TRANSFORMER, OLD_TRANSFORMER = Transformer(KEYS), Transformer(OLD_KEYS)

PERSON_MSN = compile_plan(
    agreement([{"id": "who", "field": "subject", "treatment": "token", "domain": "msn"}]),
    CONCERN,
)
PERSON_MASH = compile_plan(
    agreement([{"id": "who", "field": "subject", "treatment": "token", "domain": "mash"}]),
    CONCERN,
)
STRONG = compile_plan(
    agreement(
        [
            {"id": "subject", "field": "subject", "treatment": "keep"},
            {"id": "nhs", "tag": "nhs-number", "treatment": "token", "domain": "msn"},
            {"id": "pnc", "tag": "pnc-id", "treatment": "token", "domain": "msn"},
            {"id": "no-direct", "tag": "pii.direct", "treatment": "drop"},
            {"id": "no-quasi", "tag": "pii.quasi", "treatment": "drop"},
        ]
    ),
    CONCERN,
)
# About 8 s in all: the generated-agreement property gets the most examples.
FAST = settings(max_examples=60, deadline=None)
THOROUGH = settings(max_examples=150, deadline=None)
BROAD = settings(max_examples=300, deadline=None)


def _event(subject: dict[str, Any], narrative: str = "Concern raised.") -> dict[str, Any]:
    return with_defaults(concern_event(subject, narrative), CONCERN)


def _subject(plan: RecordPlan, subject: dict[str, Any], t: Transformer = TRANSFORMER) -> Any:
    return t.apply(plan, _event(subject), CONCERN)["subject"]


# --- (a) and (b): generated agreements over generated people ------------------------------


def _check_shape(out: dict[str, Any], plans: tuple[FieldPlan, ...], where: str) -> None:
    allowed = {p.out_name: p for p in plans}
    assert set(out) == set(allowed), f"{where}: {sorted(out)} != {sorted(allowed)}"
    for name, p in allowed.items():
        value = out[name]
        if p.field.is_record:
            if value is None:
                continue
            inner = {
                k: v for k, v in value.items() if not (p.treatment == "token" and k == "token")
            }
            if p.treatment == "token":
                _check_token(value["token"], p.domain, f"{where}{name}.token")
            _check_shape(inner, p.children, f"{where}{name}.")
        elif p.treatment == "token":
            _check_token(value, p.domain, f"{where}{name}")


def _check_token(value: Any, domain: str | None, where: str) -> None:
    m = TOKEN.fullmatch(value) if isinstance(value, str) else None
    assert value is None or (m and m["domain"] == domain), f"{where}: {value!r}"


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif value is not None:
        yield value


def _text(values: Iterator[Any]) -> str:
    return "\n".join(v.isoformat() if isinstance(v, date) else str(v) for v in values)


def _views(text: str) -> tuple[str, str]:
    """Case-changed and whitespace-changed views of ``text``."""
    folded = text.casefold()
    return folded, re.sub(r"\s+", "", folded)


def _forms(value: Any, tags: frozenset[str]) -> set[str]:
    """Ways a value could be written: as given, without spaces, and normalised."""
    out: set[str] = set()
    for item in value if isinstance(value, list) else [value]:
        if item is None:
            continue
        if isinstance(item, datetime):
            out |= {item.isoformat(), str(item)}
        elif isinstance(item, date):
            out |= {item.isoformat(), item.strftime("%d/%m/%Y")}
        else:
            out |= set(_views(str(item)))
            canonical = normalise(item, tags).value
            if canonical:
                out.add(canonical.casefold())
    return {f.casefold() for f in out if len(re.sub(r"\s+", "", f)) >= 4}


def _walk_plan(plans: tuple[FieldPlan, ...]) -> Iterator[FieldPlan]:
    for p in plans:
        yield p
        yield from _walk_plan(p.children)


def _value_at(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@BROAD
@given(subject=people(), field_clauses=clauses(CONCERN), quote=st.booleans())
def test_output_has_only_planned_fields_and_leaks_nothing(
    subject: dict[str, Any], field_clauses: list[dict[str, Any]], quote: bool
) -> None:
    event = _event(subject, narrative_about(subject) if quote else "Concern raised.")
    plan = compile_plan(agreement(field_clauses), CONCERN)
    out = TRANSFORMER.apply(plan, event, CONCERN)

    # (a) exactly the planned fields, tokens only where tokens are planned, and a record
    # the derived schema accepts with nothing extra (strict: unknown fields are errors).
    _check_shape(out, plan.fields, "")
    schema = fastavro.parse_schema(derive_output_schema(plan, CONCERN, "test-recipient"))
    assert fastavro.validation.validate(out, schema, strict=True)
    encoded = io.BytesIO()
    fastavro.schemaless_writer(encoded, schema, out)

    # (b) what was dropped or tokenised, in every form, is nowhere in the output: neither
    # in its values nor in the Avro bytes the recipient receives. Tokens are cut out first
    # (random base32 can spell a short name), and values the plan keeps are allowed to
    # contain the same text (a kept narrative may quote a dropped name by design).
    planned = list(_walk_plan(plan.fields))
    treatments = {p.field.path: p.treatment for p in planned}
    kept = [
        _value_at(event, p.field.path)
        for p in planned
        if p.treatment == "keep" and not p.field.is_record
    ]
    kept_views = _views(_text(_leaves(kept)))
    output_views = [
        *_views(TOKEN.sub(" ", _text(_leaves(out)))),
        *_views(TOKEN.sub(" ", encoded.getvalue().decode("utf-8", "replace"))),
    ]
    for f in CONCERN.walk():
        if f.is_record or treatments.get(f.path, "drop") not in ("drop", "token"):
            continue
        # Stripped: in the Avro bytes a string's length prefix can be a space character
        # (16 bytes -> 0x20), which made "nguyễn " appear after a kept alias.
        for form in {f.strip() for f in _forms(_value_at(event, f.path), f.tags)} - {""}:
            if any(form in view for view in kept_views):
                continue
            for view in output_views:
                assert form not in view, f"{f.path} ({treatments.get(f.path, 'drop')}) leaked"


# --- (c) tokens link the same identity, and only within one domain and key version ------


@THOROUGH
@given(data=st.data())
def test_person_token_is_stable_across_presentations(data: st.DataObject) -> None:
    given_name, family = data.draw(base_names), data.draw(base_names)
    dob = data.draw(st.none() | st.dates(date(1920, 1, 1), date(2024, 12, 31)))
    one, two = (
        person(
            given_name=data.draw(presented(given_name)),
            family_name=data.draw(presented(family)),
            date_of_birth=dob,
        )
        for _ in range(2)
    )
    token = _subject(PERSON_MSN, one)["token"]
    assert token is not None
    assert _subject(PERSON_MSN, two)["token"] == token
    # Other domain, other key version: another token, naming its domain and key id.
    other_domain = _subject(PERSON_MASH, one)["token"]
    old_key = _subject(PERSON_MSN, one, OLD_TRANSFORMER)["token"]
    assert len({token, other_domain, old_key}) == 3
    assert token.startswith("tok.msn.k2.") and old_key.startswith("tok.msn.k1.")
    assert other_domain.startswith("tok.mash.cfg1.")
    # A different identity never shares the token.
    stranger = person(given_name=data.draw(base_names), family_name=family, date_of_birth=dob)
    if normalise_name(stranger["given_name"]) != normalise_name(given_name):
        assert _subject(PERSON_MSN, stranger)["token"] != token


@FAST
@given(digits=nhs_digits(), styles=st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_nhs_token_is_stable_across_spacing(digits: str, styles: tuple[int, int]) -> None:
    a, b = (spaced_nhs(digits, s) for s in styles)
    token = _subject(STRONG, person(nhs_number=a))["nhs_number"]
    assert token is not None and token == _subject(STRONG, person(nhs_number=b))["nhs_number"]
    by_version = tokens_by_version(KEYS.ring("msn"), digits, "nhs-number")
    assert by_version["k2"] == token and by_version["k1"] != token
    assert tokens_by_version(KEYS.ring("mash"), digits, "nhs-number")["cfg1"] != token


@FAST
@given(pnc=pnc_ids())
def test_pnc_token_is_stable_across_forms(pnc: tuple[str, str]) -> None:
    recorded, canonical = pnc
    token = _subject(STRONG, person(pnc_id=recorded))["pnc_id"]
    assert token is not None
    assert token == _subject(STRONG, person(pnc_id=canonical))["pnc_id"]


# --- (d) an invalid NHS number is never tokenised as if it were valid -------------------


@THOROUGH
@given(data=st.data())
def test_invalid_nhs_number_never_gets_a_token(data: st.DataObject) -> None:
    digits = data.draw(nhs_digits())
    typo = data.draw(mistyped_nhs(digits))
    assert normalise(typo, frozenset({"nhs-number"})).value is None
    valid = _subject(STRONG, person(nhs_number=digits))["nhs_number"]
    result = TRANSFORMER.apply_with_notes(STRONG, _event(person(nhs_number=typo)), CONCERN)
    invalid = result.record["subject"]["nhs_number"]
    assert invalid is None and valid is not None and invalid != valid
    assert any(n.startswith("subject.nhs_number: not tokenised") for n in result.notes)
    assert all(typo.strip() not in n for n in result.notes)  # reasons never quote values
