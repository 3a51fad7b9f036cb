"""Free-text redaction that fails closed: every layer may only add to what is removed.

Layers (each finds spans; the union is removed, widened to whole words):
1. ``known``: the event's own values (names, aliases, date of birth, address, identifiers);
2. ``patterns``: UK identifiers, phones, emails, dates, addresses, registrations, digit runs;
3. Presidio's analyser: spaCy NER for people, Presidio's UK and phone recognisers;
4. ``heuristics``: the name layer, which removes what might be a name unless it is a word.

Importing this package loads nothing; the model loads on the first call (engine.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.privacy.redaction import heuristics, known, patterns
from hub.privacy.redaction.engine import RedactionUnavailable, analyser
from hub.privacy.redaction.patterns import Span

REDACTED = "[REDACTED]"
# Longer texts are not analysed: the whole field is removed (fail closed). A narrative is a
# few hundred to a few thousand characters. The spaCy pipeline costs about 0.2-0.4 ms a
# token on this shared machine, so 10,000 characters (about 2,000 tokens) is at most about
# a second: a hostile partner's megabyte of text must not hold the processor for minutes.
MAX_ANALYSED = 10_000

__all__ = ["MAX_ANALYSED", "REDACTED", "RedactionUnavailable", "Span", "find_spans", "redact"]


def find_spans(text: str, identifiers: Iterable[str] = ()) -> list[Span]:
    """Every span any layer would remove, unmerged and labelled (for the benchmark)."""
    spans = list(known.find(text, known.compile_known(identifiers)))
    spans.extend(patterns.find(text))
    found, tokens = analyser().analyse(text)
    spans.extend(Span(s, e, kind, "presidio") for s, e, kind in found)
    spans.extend(heuristics.find(tokens))
    return spans


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """To whole words: half a word removed can still identify."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def merge(text: str, spans: Iterable[Span]) -> list[tuple[int, int]]:
    """Widened, overlapping or touching spans joined (a gap of spaces or a hyphen joins)."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(_widen(text, sp.start, sp.end) for sp in spans):
        if out and (s <= out[-1][1] or not text[out[-1][1] : s].strip(" -'\u2019")):
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def redact(text: str, identifiers: Iterable[str] = ()) -> str:
    if not text.strip():
        return text
    if len(text) > MAX_ANALYSED:
        return REDACTED
    parts: list[str] = []
    last = 0
    for s, e in merge(text, find_spans(text, identifiers)):
        parts.append(text[last:s])
        parts.append(REDACTED)
        last = e
    parts.append(text[last:])
    return "".join(parts)
