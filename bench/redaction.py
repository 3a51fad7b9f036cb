"""Redaction on the labelled corpus: today's redactor against the old one, in one run.

    .venv/bin/python bench/redaction.py [--corpus PATH] [--json]

Recall per gold entity type (a gold span counts as removed only if every letter and digit
of it is inside a removed region: half a name removed is a leak), person-name recall split
into the subject's own names (which the event tells the redactor) and third parties' (which
it does not), precision of the removed regions and per detector, and time per narrative.
The baseline is the redactor as it was before issue 15 (patterns plus the event's own
values), kept below as ``legacy_spans`` for this comparison.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "privacy" / "corpus" / "narratives.jsonl"
IDENTIFIER_TYPES = ("NHS_NUMBER", "PNC_ID", "NI_NUMBER", "POSTCODE", "VEHICLE_REG", "PHONE")
GOAL_PERSON, GOAL_IDENTIFIERS = 0.99, 1.0

# (start, end, detector kind)
Found = list[tuple[int, int, str]]
Finder = Callable[[str, Sequence[str]], Found]

_LEGACY_PATTERNS = [
    re.compile(r"\b[A-Z]{1,2}[0-9][0-9A-Z]?\s*[0-9][A-Z]{2}\b", re.IGNORECASE),  # postcode
    re.compile(r"\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b"),  # NHS number, spaced or dashed
    re.compile(r"\b\d{2}(?:\d{2})?/\d{1,7}[A-Z]\b", re.IGNORECASE),  # PNC id
    re.compile(r"\b(?:\+44\s?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}\b"),  # UK phone
    re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"),  # email
    re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"),  # dates
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
]


def legacy_spans(text: str, identifiers: Sequence[str]) -> Found:
    """The pre-issue-15 redactor (hub/privacy/redact.py at cae17a7) as spans on the text:
    seven patterns, then the event's own values as whole words."""
    out: Found = []
    for pattern in _LEGACY_PATTERNS:
        out.extend((m.start(), m.end(), "legacy-pattern") for m in pattern.finditer(text))
    words = set(identifiers)
    # transform.py also passed each word of three letters or more of each value.
    words.update(w for i in identifiers for w in i.split() if len(w) >= 3)
    for ident in sorted({i for i in words if i and len(i) >= 2}, key=len, reverse=True):
        for m in re.finditer(rf"(?<!\w){re.escape(ident)}(?!\w)", text, re.IGNORECASE):
            out.append((m.start(), m.end(), "legacy-known"))
    return out


def hub_spans(text: str, identifiers: Sequence[str]) -> Found:
    from hub.privacy.redaction import find_spans

    return [(s.start, s.end, f"{s.source}:{s.kind}") for s in find_spans(text, identifiers)]


def regions(text: str, found: Found) -> list[tuple[int, int]]:
    from hub.privacy.redaction import Span, merge

    return merge(text, (Span(s, e, k, "") for s, e, k in found))


def removed(text: str, regs: Iterable[tuple[int, int]], start: int, end: int) -> bool:
    """Every letter and digit of text[start:end] is inside some region."""
    mask = [False] * len(text)
    for s, e in regs:
        for i in range(s, e):
            mask[i] = True
    return all(mask[i] for i in range(start, end) if text[i].isalnum())


@dataclass
class Scores:
    gold: Counter[str] = field(default_factory=Counter)
    hit: Counter[str] = field(default_factory=Counter)
    region_tp: int = 0
    region_fp: int = 0
    det_tp: Counter[str] = field(default_factory=Counter)
    det_fp: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    narratives: int = 0
    misses: list[str] = field(default_factory=list)

    def recall(self, kind: str) -> float:
        return self.hit[kind] / self.gold[kind] if self.gold[kind] else 1.0

    def precision(self) -> float:
        total = self.region_tp + self.region_fp
        return self.region_tp / total if total else 1.0

    def ms_per_narrative(self) -> float:
        return 1000 * self.seconds / max(self.narratives, 1)


def _overlaps(s: int, e: int, gold: Sequence[dict[str, Any]]) -> bool:
    return any(s < g["end"] and g["start"] < e for g in gold)


def score(corpus: Sequence[dict[str, Any]], finder: Finder) -> Scores:
    sc = Scores()
    for item in corpus:
        text, gold = item["text"], item["spans"]
        t0 = time.perf_counter()
        found = finder(text, item["identifiers"])
        sc.seconds += time.perf_counter() - t0
        sc.narratives += 1
        regs = regions(text, found)
        for g in gold:
            kinds = [g["type"]]
            if g["type"] == "PERSON":
                kinds.append(f"PERSON ({g['role'].replace('_', ' ')})")
            ok = removed(text, regs, g["start"], g["end"])
            for k in kinds:
                sc.gold[k] += 1
                sc.hit[k] += ok
            if not ok:
                sc.misses.append(f"{item['id']} {g['type']}: {text[g['start'] : g['end']]!r}")
        for s, e in regs:
            if _overlaps(s, e, gold):
                sc.region_tp += 1
            else:
                sc.region_fp += 1
        for s, e, kind in found:
            (sc.det_tp if _overlaps(s, e, gold) else sc.det_fp)[kind] += 1
    return sc


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def report(base: Scores, new: Scores, load_s: float, out: Any) -> None:
    kinds = sorted(new.gold, key=lambda k: (not k.startswith("PERSON"), k))
    print(f"{'entity':<26}{'gold':>6}{'baseline':>10}{'hub':>8}{'ratio':>8}", file=out)
    for k in kinds:
        b, n = base.recall(k), new.recall(k)
        print(f"{k:<26}{new.gold[k]:>6}{b:>10.3f}{n:>8.3f}{_ratio(n, b):>8}", file=out)
    print(
        f"{'precision (regions)':<26}{'':>6}{base.precision():>10.3f}{new.precision():>8.3f}"
        f"{_ratio(new.precision(), base.precision()):>8}",
        file=out,
    )
    bt, nt = base.ms_per_narrative(), new.ms_per_narrative()
    print(f"{'ms per narrative':<26}{'':>6}{bt:>10.3f}{nt:>8.2f}{_ratio(nt, bt):>8}", file=out)
    print(f"model load (once per process): {load_s:.2f} s", file=out)
    print("hub precision per detector (spans overlapping a gold span / spans):", file=out)
    for det in sorted(set(new.det_tp) | set(new.det_fp)):
        tp, fp = new.det_tp[det], new.det_fp[det]
        print(f"  {det:<36}{tp / (tp + fp):>7.3f}  ({tp + fp} spans)", file=out)
    print(f"hub misses ({len(new.misses)}):", file=out)
    for m in new.misses[:40]:
        print(f"  {m}", file=out)


def summary(base: Scores, new: Scores, load_s: float) -> dict[str, Any]:
    return {
        "narratives": new.narratives,
        "recall": {k: {"baseline": base.recall(k), "hub": new.recall(k)} for k in new.gold},
        "gold": dict(new.gold),
        "precision": {"baseline": base.precision(), "hub": new.precision()},
        "ms_per_narrative": {
            "baseline": base.ms_per_narrative(),
            "hub": new.ms_per_narrative(),
        },
        "model_load_s": load_s,
        "misses": new.misses,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    corpus = load(args.corpus)
    t0 = time.perf_counter()
    from hub.privacy.redaction.engine import analyser

    analyser()
    load_s = time.perf_counter() - t0
    base = score(corpus, legacy_spans)
    new = score(corpus, hub_spans)
    report(base, new, load_s, sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(summary(base, new, load_s)))
    ok = new.recall("PERSON") >= GOAL_PERSON and all(
        new.recall(k) >= GOAL_IDENTIFIERS for k in IDENTIFIER_TYPES if new.gold[k]
    )
    print(f"goals (person >= {GOAL_PERSON}, identifiers 1.00): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
