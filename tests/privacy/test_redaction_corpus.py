"""The redactor on the labelled corpus: identifiers always removed, names above a floor.

A regression guard, not the measurement: bench/redaction.py prints the figures (recall per
entity type, precision, time) against the old redactor. Three sets of 360 narratives each
(tests/privacy/corpus/README.md): ``narratives`` (developed against), ``heldout`` and
``fresh`` (written after the rules were frozen).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.redaction import IDENTIFIER_TYPES, hub_spans, load, score
from tests.privacy.corpus import generate

CORPUS = Path(generate.__file__).parent
SETS = {"narratives": generate.DEV, "heldout": generate.HELDOUT, "fresh": generate.FRESH}
TYPES = {"PERSON", "ADDRESS", "POSTCODE", "PHONE", "EMAIL", "DOB", "VEHICLE_REG"}
TYPES |= {"NHS_NUMBER", "PNC_ID", "NI_NUMBER"}
# The floor sits under today's figures (0.995 to 0.998 across the three sets) so that a
# change which loses names fails here; the goal (0.99) is the benchmark's to report.
PERSON_FLOOR = 0.99


@pytest.mark.parametrize("name", sorted(SETS))
def test_corpus_is_what_the_script_generates(name: str) -> None:
    on_disk = load(CORPUS / f"{name}.jsonl")
    assert on_disk == json.loads(json.dumps(generate.generate(SETS[name]), ensure_ascii=False))


@pytest.mark.parametrize("name", sorted(SETS))
def test_corpus_covers_the_hard_cases(name: str) -> None:
    corpus = load(CORPUS / f"{name}.jsonl")
    assert len(corpus) >= 300
    names = []
    for item in corpus:
        for s in item["spans"]:
            assert s["type"] in TYPES
            assert item["text"][s["start"] : s["end"]].strip()
            if s["type"] == "PERSON":
                names.append(item["text"][s["start"] : s["end"]])
    assert {s["type"] for item in corpus for s in item["spans"]} == TYPES
    assert sum(n.islower() for n in names) >= 50, "names in lower case"
    assert sum("-" in n for n in names) >= 20, "hyphenated names"
    assert sum(not n.isascii() for n in names) >= 20, "non-English names"
    assert sum(n.isupper() for n in names) >= 10, "names in capitals"


def test_corpus_has_names_that_are_words() -> None:
    text = " ".join(item["text"] for item in load(CORPUS / "narratives.jsonl"))
    for word in ("Hope", "Rose", "Frank", "Smith"):
        assert re.search(rf"\b{word}\b", text), word


@pytest.mark.parametrize("name", sorted(SETS))
def test_identifiers_always_removed_and_names_above_the_floor(name: str) -> None:
    result = score(load(CORPUS / f"{name}.jsonl"), hub_spans)
    for kind in (*IDENTIFIER_TYPES, "EMAIL", "DOB", "ADDRESS"):
        assert result.recall(kind) == 1.0, (kind, result.misses)
    assert result.recall("PERSON") >= PERSON_FLOOR, result.misses
    assert result.recall("PERSON (subject)") == 1.0, result.misses
