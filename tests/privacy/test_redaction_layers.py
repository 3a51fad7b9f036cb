"""The redactor's layers and its failure modes: every failure removes more, never less."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.catalogue import EventType
from hub.policy.plan import compile_plan
from hub.privacy import Transformer
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.redact import REDACTED, redact
from hub.privacy.redaction import MAX_ANALYSED, engine, patterns
from hub.privacy.redaction.engine import RedactionUnavailable, model_path, verify_model
from hub.privacy.transform import TransformError
from tests.privacy.builders import agreement, concern_event, with_defaults


@pytest.mark.parametrize(
    "identifier",
    [
        "943 476 5919",  # NHS number, valid check digit
        "9434765918",  # NHS number, wrong check digit: still removed
        "11/123456X",
        "2011/0123456x",  # PNC id, lower case
        "AB 12 34 56 C",
        "ab123456c",  # NI number, lower case, unspaced
        "L20 3AB",
        "l83tx",  # postcode, lower case, unspaced
        "CH41",  # outward code alone
        "AB12 CDE",
        "ab12cde",
        "A123 BCD",
        "ABC 123D",  # registrations: current, prefix, suffix
        "07700 900123",
        "+44 7700 900123",
        "(0151) 496 0123",
        "jo.smith@example.org",
        "@jj_smudge",
        "03/04/2009",
        "3rd of April 2009",
        "April 3, 2009",
        "2009-04-03",
        "14 Elm Road",
        "Flat 3",
    ],
)
def test_each_identifier_shape_is_removed(identifier: str) -> None:
    out = redact(f"the value given was {identifier} and nothing else", [])
    assert out == f"the value given was {REDACTED} and nothing else"


def test_nhs_check_digit_labels_but_does_not_decide() -> None:
    assert patterns.nhs_check_digit_ok("9434765919")
    assert not patterns.nhs_check_digit_ok("9434765918")
    kinds = {s.kind for s in patterns.find("number 9434765918 given")}
    assert kinds & {"NUMBER", "PHONE"}  # removed under another label, never kept


def test_ordinals_times_and_ages_stay() -> None:
    text = "she is 15 and was seen at 10pm on the 3rd visit"
    assert redact(text, []) == text


def test_event_values_match_with_any_spacing() -> None:
    out = redact("his number 9434765919 and JO  SMITH again", ["943 476 5919", "Jo Smith"])
    assert out == f"his number {REDACTED} and {REDACTED} again"


def test_dates_of_birth_from_the_event_in_words() -> None:
    out = redact("she was born on the 3 April 2009 in town", ["2009-04-03"])
    assert "2009" not in (out or "") and "April" not in (out or "")


def test_text_too_long_to_analyse_is_removed_whole() -> None:
    assert redact("word " * (MAX_ANALYSED // 5 + 1), []) == REDACTED


def test_analysis_failure_removes_the_whole_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str, identifiers: object = ()) -> object:
        raise RuntimeError("tokeniser fault")

    monkeypatch.setattr("hub.privacy.redaction.find_spans", broken)
    assert redact("Quentin keeps his passport", []) == REDACTED


def test_importing_hub_loads_no_model() -> None:
    code = (
        "import sys, hub, hub.privacy.redact, hub.privacy.transform, hub.privacy.redaction;"
        "bad = [m for m in ('spacy', 'presidio_analyzer', 'thinc') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _copy_model(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    shutil.copytree(model_path(), root)
    return root


def test_vetted_model_verifies(tmp_path: Path) -> None:
    verify_model(_copy_model(tmp_path))


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    root = _copy_model(tmp_path)
    with (root / "ner" / "model").open("r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(RedactionUnavailable, match="vetted digest"):
        verify_model(root)


def test_model_with_an_extra_file_is_refused(tmp_path: Path) -> None:
    root = _copy_model(tmp_path)
    (root / "ner" / "extra.py").write_text("print('hi')\n")
    with pytest.raises(RedactionUnavailable, match="extra"):
        verify_model(root)


def test_unavailable_redaction_withholds_the_disclosure(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    concern_type: EventType,
    keys: LocalKeyProvider,
) -> None:
    """A model that fails its check is never used, and the field never goes out raw."""
    manifest = tmp_path / "model.sha256"
    manifest.write_text("0" * 64 + "  config.cfg\n")
    monkeypatch.setattr(engine, "MANIFEST", manifest)
    monkeypatch.setattr(engine, "_analyser", None)  # as in a fresh process
    plan = compile_plan(
        agreement([{"id": "n", "field": "narrative", "treatment": "redact"}]), concern_type
    )
    event = with_defaults(concern_event(narrative="Quentin keeps his passport"), concern_type)
    with pytest.raises(TransformError, match="redaction model"):
        Transformer(keys).apply(plan, event, concern_type)


@pytest.mark.parametrize("unit", ["1.", "1 ", "a", "a1", "a@", "1a ", "12 abc "])
def test_patterns_take_linear_time_on_hostile_text(unit: str) -> None:
    """A partner's 200,000 characters of "1.1.1..." once took minutes (backtracking)."""
    text = unit * (200_000 // len(unit)) + "x"
    start = time.perf_counter()
    list(patterns.find(text))
    assert time.perf_counter() - start < 10  # linear: about 0.5 s here; quadratic: minutes
