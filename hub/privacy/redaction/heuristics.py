"""The fail-closed name layer: remove what might be a name unless it is known to be a word.

Statistical NER misses names in lower case, foreign names, and names that are also words
("hope smith said", "Frank's van"). This layer needs no name list. It removes:

- any capitalised word that does not start a sentence, unless it is a safe term (a
  weekday, an agency, a nationality): names are capitalised, most other words are not;
- any word at the start of a sentence that is not a common English word, or that the
  tagger calls a proper noun, or that leads into a name or a verb people do ("Rose said");
- any lower-case word that is not a common English word (lower-case and foreign names);
- the words after a cue that introduces a person ("his boss ...", "known as ...");
- the words before a verb people do ("hope smith said"), unless they are roles ("the
  officer said") or function words;
- the neighbours of a removed name that could be part of it ("hope okafor").

Its cost is over-redaction of places, organisations and unusual words, which the benchmark
counts (bench/redaction.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from hub.privacy.redaction.patterns import Span
from hub.privacy.redaction.words import (
    CONTACT_VERBS,
    FUNCTION_WORDS,
    NAMING_CUES,
    PERSON_CUES,
    PERSON_VERBS,
    ROLE_WORDS,
    SAFE_CAPITALISED,
    SAFE_LOWER,
    common_words,
    words,
)

_CONTRACTIONS = frozenset({"n't", "'s", "\u2019s", "'re", "'ve", "'ll", "'d", "'m", "s"})
# Only these end a sentence. After ";", ":" or "(" a capital is not a sentence's first
# letter, so a capitalised word there is treated as mid-sentence (fail closed).
_ENDS = frozenset({".", "!", "?", "\u2026"})
_QUOTES = frozenset({'"', "\u201c", "\u2018", "'", "-", "\u2013", "\u2014", "*"})
_WITH = frozenset({"to", "with"})
_PRONOUNS = frozenset(words("i you he she it we they this that there who what"))
_NAME_POS = frozenset({"PROPN", "NOUN", "ADJ", "X", "INTJ"})
_PARTS = re.compile(r"[-'\u2019.]")
# Dependency labels of the places a person's name stands in a clause.
_ARG_DEPS = frozenset(
    {
        "nsubj",
        "nsubjpass",
        "dobj",
        "pobj",
        "conj",
        "appos",
        "poss",
        "attr",
        "acomp",
        "compound",
        "npadvmod",
        "dative",
        "oprd",
    }
)
_DETERMINERS = frozenset({"det", "poss", "nummod", "predet", "amod", "quantmod"})


def _has_letter(text: str) -> bool:
    return any(c.isalpha() for c in text)


def is_common(text: str) -> bool:
    """Every part of the word (split at hyphens and apostrophes) is a common or safe word."""
    words = common_words()
    parts = [p for p in _PARTS.split(text.lower()) if p]
    if not parts:
        return True
    return all(
        len(p) == 1 or p in words or p in SAFE_LOWER or p in FUNCTION_WORDS or p in ROLE_WORDS
        for p in parts
    )


def _capitalised(text: str) -> bool:
    return text[:1].isupper()


def _safe_capital(text: str) -> bool:
    return text in SAFE_CAPITALISED


class _Doc:
    """The tokens of one text with the per-token facts the rules share."""

    def __init__(self, tokens: Sequence[Any]) -> None:
        self.toks = tokens
        self.text = [t.text for t in tokens]
        self.lower = [t.text.lower() for t in tokens]
        # Words only: tokens with digits are the patterns' business ("AB12", "L20").
        self.word = [
            _has_letter(t.text)
            and not any(c.isdigit() for c in t.text)
            and t.text.lower() not in _CONTRACTIONS
            for t in tokens
        ]
        self.hit: dict[int, str] = {}

    def starts_sentence(self, i: int) -> bool:
        j = i - 1
        while j >= 0 and self.text[j] in _QUOTES:  # '. "Rose said' starts at Rose
            j -= 1
        if j < 0:
            return True
        prev = self.text[j]
        return prev in _ENDS or prev.isspace() or "\n" in prev

    def next_word(self, i: int) -> int | None:
        j = i + 1
        return j if j < len(self.toks) and self.word[j] else None

    def plain(self, i: int) -> bool:
        """A word that cannot be (part of) a name: function, role or safe words."""
        low = self.lower[i]
        return low in FUNCTION_WORDS or low in ROLE_WORDS or _safe_capital(self.text[i])


def _capital_rule(d: _Doc, i: int) -> bool:
    text, low = d.text[i], d.lower[i]
    if _safe_capital(text):
        return False
    if not d.starts_sentence(i) or (text.isupper() and len(text) > 1):
        return True
    nxt = d.next_word(i)
    verb_next = nxt is not None and d.lower[nxt] in PERSON_VERBS
    if low in FUNCTION_WORDS:
        return verb_next and low not in _PRONOUNS
    if low in ROLE_WORDS:
        return False
    tok = d.toks[i]
    if not is_common(text) or tok.pos_ == "PROPN" or tok.ent_type_ == "PERSON":
        return True
    if nxt is not None and _capitalised(d.text[nxt]) and not d.plain(nxt):
        return True  # "Hope Smith ..."
    if i + 1 < len(d.toks) and d.text[i + 1] == "(":
        return True  # "Gem (7th of August 1975) ...": a person and their date of birth
    return verb_next or _subject_of_next(d, i, nxt)


def _subject_of_next(d: _Doc, i: int, nxt: int | None) -> bool:
    """A singular word followed by a finite verb is its subject: "Will emailed", "Rose is",
    "holly is believed". Plurals ("Officers attended") and pronouns are not names."""
    if nxt is None or d.toks[i].tag_ in ("NNS", "NNPS", "PRP", "PRP$", "DT", "WP", "EX"):
        return False
    after = d.toks[nxt]
    return after.lemma_ in ("be", "have") or after.tag_ in ("VBD", "VBZ", "VBN")


def _cue_rule(d: _Doc, i: int, limit: int = 3) -> Iterator[int]:
    """The words after "his boss", "her friend", "known as", "Mr", "spoke to"."""
    naming = d.lower[i] in NAMING_CUES
    if naming and d.lower[i] == "as" and (i == 0 or d.lower[i - 1] != "known"):
        return
    j, taken = i + 1, 0
    if j < len(d.toks) and d.text[j] in (",", ":", '"', "\u201c", "'", "\u2018", "."):
        j += 1
    while j < len(d.toks) and taken < limit:
        if d.text[j] == "-":  # hyphenated name: keep going
            j += 1
            continue
        if not d.word[j] or d.plain(j) or d.lower[j] in PERSON_CUES:
            return
        tok = d.toks[j]
        if not (
            naming
            or _capitalised(d.text[j])
            or not is_common(d.text[j])
            or tok.pos_ in _NAME_POS
            or tok.tag_ in ("MD", "VB")  # a lower-case name taken for a verb: "to hope"
        ):
            return
        yield j
        taken += 1
        j += 1


def _verb_rule(d: _Doc, i: int) -> Iterator[int]:
    """The one or two words before "said", "drives", ... that are not roles."""
    j = i - 1
    for _ in range(2):
        if j < 0 or not d.word[j] or d.plain(j) or d.lower[j] in PERSON_VERBS:
            return
        if d.toks[j].pos_ not in _NAME_POS and is_common(d.text[j]):
            return
        yield j
        j -= 1


def _lower_name(d: _Doc, i: int) -> bool:
    """A common word written in lower case that stands where a name would."""
    if d.starts_sentence(i) and _subject_of_next(d, i, d.next_word(i)):
        return True  # "holly is believed ...": a sentence does not start in lower case
    tok = d.toks[i]
    if tok.tag_ == "MD" and i > 0 and d.toks[i - 1].pos_ in ("ADP", "DET"):
        return True  # "checks on will show": no modal verb follows a preposition
    return _bare_noun(d, i)


def _bare_noun(d: _Doc, i: int) -> bool:
    """A lower-case singular noun standing alone where a person would ("stay with grace",
    "driven by frank", "summer's van"): a name written in lower case. Common nouns there
    usually take a determiner or possessive ("the house", "his passport"); mass nouns
    ("money", "food") are removed too, which is the over-redaction this costs."""
    tok = d.toks[i]
    if tok.pos_ == "PROPN":
        return True
    if tok.pos_ not in ("NOUN", "ADJ") or tok.tag_ not in ("NN", "NNP", "JJ"):
        return False
    if tok.dep_ not in _ARG_DEPS:
        return False
    return not _determined(tok)


def _determined(tok: Any) -> bool:
    """Has a determiner, possessive or number: "the house", "his van", "two men"."""
    return any(c.dep_ in _DETERMINERS for c in tok.children)


def _coordination(d: _Doc) -> None:
    """Names come in lists: "jordan and will", "Frank, sky and Rose"."""
    changed = True
    while changed:
        changed = False
        for i in list(d.hit):
            after = _skip_brackets(d, i + 1)
            for link, j in ((after, after + 1), (i - 1, i - 2)):
                if not (0 <= j < len(d.toks)) or j in d.hit:
                    continue
                if d.lower[link] not in ("and", "or", ",", "&") or not d.word[j]:
                    continue
                if d.plain(j) or d.lower[j] in PERSON_VERBS or _determined(d.toks[j]):
                    continue
                if d.toks[j].pos_ in ("NUM", "DET", "PRON", "ADP", "CCONJ", "SCONJ", "PART"):
                    continue
                d.hit[j] = "PERSON"
                changed = True


def _skip_brackets(d: _Doc, j: int) -> int:
    """Past a bracketed aside: "Frank (dob 1/2/03) and Rose" coordinates Frank and Rose."""
    if j < len(d.toks) and d.text[j] == "(":
        while j < len(d.toks) and d.text[j] != ")":
            j += 1
        j += 1
    return j


def _hyphens(d: _Doc) -> None:
    """A hyphenated name is one name: "smith - jones" goes whole if any part goes."""
    changed = True
    while changed:
        changed = False
        for i in list(d.hit):
            for j, k in ((i - 1, i - 2), (i + 1, i + 2)):
                if 0 <= k < len(d.toks) and d.text[j] == "-" and d.word[k] and k not in d.hit:
                    d.hit[k] = "PERSON"
                    changed = True


def _neighbours(d: _Doc) -> None:
    """A removed word's neighbours that could be the rest of the name: proper nouns, unknown
    words, capitalised words, and any word beside a lower-case name ("that hope okafor")."""
    for i in sorted(d.hit):
        anchor_lower = not _capitalised(d.text[i])
        for j in (i - 1, i + 1):
            if not 0 <= j < len(d.toks) or j in d.hit:
                continue
            if not d.word[j] or d.plain(j) or d.lower[j] in PERSON_VERBS:
                continue
            pos = d.toks[j].pos_
            # Beside an unknown word (a likely name), or a lower-case one, a noun or adjective
            # may be the rest of it; so may any word before (a given name the tagger took for
            # a verb or adverb: "that hope okafor", "will achterberg"). A verb after is not.
            strong = anchor_lower or not is_common(d.text[i])
            if (
                pos in ("PROPN", "X")
                or not is_common(d.text[j])
                or (strong and pos in _NAME_POS)
                or (strong and j == i - 1)
            ):
                d.hit[j] = "PERSON"


def find(tokens: Sequence[Any]) -> Iterator[Span]:
    d = _Doc(tokens)
    for i in range(len(tokens)):
        if not d.word[i]:
            continue
        text = d.text[i]
        if _capitalised(text):
            if _capital_rule(d, i):
                d.hit[i] = "PERSON"
        elif not is_common(text) or (not d.plain(i) and _lower_name(d, i)):
            d.hit[i] = "PERSON"
        if d.lower[i] in PERSON_CUES or d.lower[i] in NAMING_CUES:
            d.hit.update((j, "PERSON") for j in _cue_rule(d, i))
        if d.lower[i] in CONTACT_VERBS and i + 1 < len(tokens) and d.lower[i + 1] in _WITH:
            d.hit.update((j, "PERSON") for j in _cue_rule(d, i + 1, limit=2))
        if d.lower[i] in PERSON_VERBS:
            d.hit.update((j, "PERSON") for j in _verb_rule(d, i))
    _hyphens(d)
    _neighbours(d)
    _coordination(d)
    _hyphens(d)
    for i, kind in d.hit.items():
        tok = tokens[i]
        yield Span(tok.idx, tok.idx + len(tok.text), kind, "heuristic")
