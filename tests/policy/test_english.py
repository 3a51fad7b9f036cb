"""Golden tests of conditions in English: every condition in the reference agreements, with
the English read for sense, and the parser checked against the real CEL evaluator."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import cel
import pytest
import yaml

from hub.policy import cel_syntax as cs
from hub.policy.english import word_condition

ROOT = Path(__file__).resolve().parents[2]
AGREEMENTS = sorted((ROOT / "partnership" / "agreements").glob("*/v*.yaml"))
CASES = sorted((ROOT / "tests" / "policy" / "cases").glob("*/agreement.yaml"))

# Read for sense by a person: each says, in an IG officer's words, when the agreement shares.
GOLDEN = {
    "fire-liverpool-mash": (
        "the occupier's home is in Liverpool and the occupier consented to the referral"
    ),
    "linkage-alerts-knowsley-mash": (
        "the latest contributing event that names a borough is in Knowsley"
    ),
    "linkage-alerts-liverpool-mash": (
        "the latest contributing event that names a borough is in Liverpool"
    ),
    "mash-decisions-to-police": "the subject lives in Liverpool",
    "police-knowsley-mash": (
        "the subject is known to be under 18, the subject lives in Knowsley"
        " and the risk level is medium or high"
    ),
    "police-liverpool-mash-domestic-abuse": (
        "the victim lives in Liverpool, and either children were present during the incident"
        " or the number of children living in the household is known to be more than 0"
    ),
    "police-liverpool-mash-missing": (
        "either the subject is recorded as a child or the subject is known to be under 18,"
        " and the missing person lives (or is placed) in Liverpool"
    ),
    "police-liverpool-mash": (
        "the subject is known to be under 18, the subject lives in Liverpool"
        " and the risk level is medium or high"
    ),
    "police-msn-duty-to-notify": "the referral is an anonymous Duty to Notify report",
    "police-msn-nrm": (
        "the referral is a National Referral Mechanism (NRM) referral, and either the subject"
        " is recorded as a child or the adult consented to the referral"
    ),
    "police-msn": (
        "the concern is about child criminal exploitation (CCE), child sexual exploitation"
        " (CSE), county lines or modern slavery"
    ),
    "police-sefton-mash-missing": (
        "either the subject is recorded as a child or the subject is known to be under 18,"
        " and the missing person lives (or is placed) in Sefton"
    ),
    "police-st-helens-mash-missing": (
        "either the subject is recorded as a child or the subject is known to be under 18,"
        " and the missing person lives (or is placed) in St Helens"
    ),
    "police-wirral-mash-missing": (
        "either the subject is recorded as a child or the subject is known to be under 18,"
        " and the missing person lives (or is placed) in Wirral"
    ),
    "probation-iom": (
        "the update is a recall, a breach, an address change or a change of risk level"
    ),
    "yjs-liverpool-mash": "the Youth Justice Service responsible for the child is Liverpool's",
    # No condition: everything of the agreement's event types goes to its recipients.
    "linkage-alerts-iom": "always (no condition)",
    "nhs-vrp-assaults": "always (no condition)",
    "police-iom-cohort": "always (no condition)",
}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


@pytest.mark.parametrize("path", AGREEMENTS, ids=lambda p: p.parent.name)
def test_every_reference_condition_has_reviewed_english(path: Path) -> None:
    doc = _load(path)
    assert doc["id"] in GOLDEN, f"{doc['id']}: add its English to GOLDEN, read for sense"
    wording = word_condition(doc.get("condition"), tuple(doc["event_types"]))
    assert wording.sentence == GOLDEN[doc["id"]]
    assert not wording.unworded and not wording.error


CASE_DOCS = [
    pytest.param(doc, id=f"{path.parent.name}-{i}")
    for path in CASES
    for i, doc in enumerate(yaml.safe_load_all(path.read_text()))
    if isinstance(doc, dict)
]


@pytest.mark.parametrize("doc", CASE_DOCS)
def test_golden_case_conditions_parse_or_say_why(doc: dict[str, Any]) -> None:
    source = doc.get("condition")
    wording = word_condition(source, tuple(doc.get("event_types", ())))
    try:
        cel.compile(source or "true")
        compiles = True
    except ValueError:
        compiles = False
    # A condition CEL rejects is shown as written with the reason; one it accepts parses.
    assert bool(wording.error) == (not compiles), wording.sentence


def test_unknown_constructs_are_quoted_as_written_and_listed() -> None:
    w = word_condition('size(event.notes) > 2 && event.risk_level != "LOW"')
    assert w.unworded == ("size(event.notes) > 2",)
    assert not w.complete
    assert w.sentence == (
        "“size(event.notes) > 2” holds (not put into words) and the risk level is not low"
    )
    ternary = word_condition("event.a ? true : false")
    assert ternary.unworded == ("event.a ? true : false",)


def test_a_condition_that_does_not_parse_is_shown_whole_with_the_reason() -> None:
    w = word_condition("event.borough == ")
    assert w.clause is None and w.error
    assert w.sentence.startswith("“event.borough ==”")


@pytest.mark.parametrize(
    ("source", "english"),
    [
        ("18 > facts.subject_age", "the subject is under 18"),
        ("facts.subject_age >= 18", "the subject is 18 or over"),
        (
            "event.children_in_household == null",
            "the number of children living in the household is not recorded",
        ),
        ("!event.occupier_consent", "the occupier did not consent to the referral"),
        (
            "event.adult_consent != true",
            "it is not recorded that the adult consented to the referral",
        ),
        (
            '!(event.borough == "WIRRAL" || event.risk_level == "HIGH")',
            "neither the borough recorded on the event is Wirral nor the risk level is high",
        ),
        (
            'event.a == "x" || (event.b == 1 && event.c == 2)',
            "either the a is “x”, or both the b is 1 and the c is 2",
        ),
        ("has(facts.subject_age)", "the subject's age is known"),
        # The guard stays when nothing after it can say "known to be".
        (
            'has(event.borough) && event.borough == "SEFTON"',
            "the borough recorded on the event is known to be Sefton",
        ),
        (
            'has(event.subject_kind) && event.subject_kind == "ADULT"',
            "the subject is recorded and the subject is recorded as an adult",
        ),
    ],
)
def test_wording_of_constructs(source: str, english: str) -> None:
    assert word_condition(source).sentence == english


# The parser must group exactly as CEL does: evaluate its tree and compare with ``cel``.
def _eval(node: cs.Node, env: dict[str, Any]) -> Any:
    if isinstance(node, cs.Literal):
        return node.value
    if isinstance(node, cs.Ident):
        return env[node.name]
    if isinstance(node, cs.Unary):
        return not _eval(node.operand, env)
    assert isinstance(node, cs.Binary), node
    if node.op == "&&":
        return _eval(node.left, env) and _eval(node.right, env)
    if node.op == "||":
        return _eval(node.left, env) or _eval(node.right, env)
    left, right = _eval(node.left, env), _eval(node.right, env)
    return {"==": left == right, "!=": left != right}[node.op]


@pytest.mark.parametrize(
    "source",
    [
        "a || b && c",
        "a && b || c && d",
        "!a || b == c",
        "a == b == c",
        "!(a || b) && c != d",
        "a && (b || c) && !d",
    ],
)
def test_parser_groups_as_cel_does(source: str) -> None:
    tree = cs.parse(source)
    program = cel.compile(source)
    for values in itertools.product([True, False], repeat=4):
        env = dict(zip("abcd", values, strict=True))
        assert _eval(tree, env) == program.execute(env), (source, env)


def test_spans_quote_the_source_exactly() -> None:
    src = 'event.x in ["A", "B"] && size(event.y) > 1'
    tree = cs.parse(src)
    assert isinstance(tree, cs.Binary)
    assert src[tree.right.start : tree.right.end] == "size(event.y) > 1"
    assert src[tree.left.start : tree.left.end] == 'event.x in ["A", "B"]'
