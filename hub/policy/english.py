"""Agreement conditions in English, generated from the CEL expression's structure.

``has(facts.subject_age) && facts.subject_age < 18 && event.borough == "LIVERPOOL"`` reads
"the subject is known to be under 18 and the subject lives in Liverpool". The expression is
parsed (``cel_syntax``), never pattern-matched, so precedence and grouping are exactly CEL's.
A construct this module does not know (arithmetic, a ternary, a function other than
``has``) is not guessed at: that part is quoted as written and listed in
``Wording.unworded``, so a page can say the English is incomplete. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hub.policy import cel_syntax as cs
from hub.policy.vocabulary import Term, term_for


@dataclass(frozen=True)
class Clause:
    """One part of a condition: ``leaf`` (a sentence), or ``all``/``any``/``not`` of parts."""

    kind: str
    text: str = ""
    parts: tuple[Clause, ...] = ()
    raw: str = ""  # set when this leaf is quoted as written (not put into words)


@dataclass(frozen=True)
class Wording:
    source: str
    clause: Clause | None  # None: no condition, or it did not parse
    unworded: tuple[str, ...] = ()  # parts quoted as written
    error: str = ""  # why the whole condition is shown as written

    @property
    def complete(self) -> bool:
        return self.clause is not None and not self.unworded and not self.error

    @property
    def sentence(self) -> str:
        """One sentence (no capital, no full stop), or the expression as written."""
        if self.error:
            return f"“{self.source.strip()}” (shown as written: {self.error})"
        if self.clause is None:
            return "always (no condition)"
        return _sentence(self.clause, nested=False)


@dataclass
class _Context:
    source: str
    event_types: tuple[str, ...]
    unworded: list[str] = field(default_factory=list)

    def as_written(self, node: cs.Node) -> Clause:
        raw = " ".join(self.source[node.start : node.end].split())
        self.unworded.append(raw)
        return Clause("leaf", f"“{raw}” holds (not put into words)", raw=raw)

    def term(self, path: str) -> Term:
        return term_for(path, self.event_types)


def word_condition(source: str | None, event_types: tuple[str, ...] = ()) -> Wording:
    """The English for an agreement's condition, for agreements on ``event_types``."""
    if source is None or not source.strip():
        return Wording(source or "", None)
    try:
        tree = cs.parse(source)
    except cs.CelSyntaxError as exc:
        return Wording(source, None, error=f"the console could not read it ({exc})")
    ctx = _Context(source, tuple(event_types))
    clause = _clause(tree, ctx)
    return Wording(source, clause, tuple(ctx.unworded))


def _flatten(node: cs.Node, op: str) -> list[cs.Node]:
    if isinstance(node, cs.Binary) and node.op == op:
        return _flatten(node.left, op) + _flatten(node.right, op)
    return [node]


def _path(node: cs.Node) -> str | None:
    """``event.borough`` / ``facts.subject_age`` (or deeper), else None."""
    if isinstance(node, cs.Select):
        if isinstance(node.operand, cs.Ident) and node.operand.name in ("event", "facts"):
            return f"{node.operand.name}.{node.field}"
        inner = _path(node.operand)
        return f"{inner}.{node.field}" if inner else None
    return None


def _presence(node: cs.Node) -> str | None:
    """The path a ``has(p)`` or ``p != null`` checks, else None."""
    if isinstance(node, cs.Call) and node.function == "has" and node.target is None:
        return _path(node.args[0]) if len(node.args) == 1 else None
    if isinstance(node, cs.Binary) and node.op == "!=":
        for a, b in ((node.left, node.right), (node.right, node.left)):
            if isinstance(b, cs.Literal) and b.value is None:
                return _path(a)
    return None


def _clause(node: cs.Node, ctx: _Context) -> Clause:
    if isinstance(node, cs.Binary) and node.op == "&&":
        return _conjunction(_flatten(node, "&&"), ctx)
    if isinstance(node, cs.Binary) and node.op == "||":
        return Clause("any", parts=tuple(_clause(n, ctx) for n in _flatten(node, "||")))
    if isinstance(node, cs.Unary) and node.op == "!":
        path = _path(node.operand)
        if path is not None:
            return Clause("leaf", _boolean(ctx.term(path), False))
        return Clause("not", parts=(_clause(node.operand, ctx),))
    if isinstance(node, cs.Literal) and isinstance(node.value, bool):
        return Clause("leaf", "always" if node.value else "never")
    path = _path(node)
    if path is not None:
        return Clause("leaf", _boolean(ctx.term(path), True))
    presence = _presence(node)
    if presence is not None:
        return Clause("leaf", _known(ctx.term(presence)))
    if isinstance(node, cs.Binary):
        text = _comparison(node, ctx, known=False)
        if text is not None:
            return Clause("leaf", text)
    return ctx.as_written(node)


def _conjunction(items: list[cs.Node], ctx: _Context) -> Clause:
    """``has(p) && p < 18`` reads "p is known to be under 18": the guard folds into the
    comparisons on the same field that can say "known to be"; otherwise it stays."""
    guards = {i: p for i, n in enumerate(items) if (p := _presence(n)) is not None}
    folded: set[int] = set()
    parts: list[tuple[int, Clause]] = []
    for i, node in enumerate(items):
        if i in guards:
            continue
        text = None
        if isinstance(node, cs.Binary) and _compared_path(node) in guards.values():
            text = _comparison(node, ctx, known=True)
        if text is not None and isinstance(node, cs.Binary):
            folded |= {g for g, p in guards.items() if p == _compared_path(node) and g < i}
            parts.append((i, Clause("leaf", text)))
        else:
            parts.append((i, _clause(node, ctx)))
    for g, p in guards.items():
        if g not in folded:
            parts.append((g, Clause("leaf", _known(ctx.term(p)))))
    ordered = tuple(c for _, c in sorted(parts, key=lambda ic: ic[0]))
    return ordered[0] if len(ordered) == 1 else Clause("all", parts=ordered)


def _compared_path(node: cs.Binary) -> str | None:
    return _path(node.left) or _path(node.right)


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_AGE = {"<": "under {n}", "<=": "{n} or under", ">": "over {n}", ">=": "{n} or over",
        "==": "aged {n}", "!=": "not aged {n}"}  # fmt: skip
_NUMBER = {"<": "less than {n}", "<=": "{n} or less", ">": "more than {n}",
           ">=": "{n} or more", "==": "{n}", "!=": "not {n}"}  # fmt: skip


def _comparison(node: cs.Binary, ctx: _Context, known: bool) -> str | None:
    """A field compared with a literal (or a list, for ``in``); None for anything else."""
    if node.op == "in":
        path = _path(node.left)
        if path is None or not isinstance(node.right, cs.ListExpr):
            return None
        if not all(isinstance(i, cs.Literal) for i in node.right.items):
            return None
        values = [i.value for i in node.right.items if isinstance(i, cs.Literal)]
        return _equals(ctx.term(path), values, negate=False, known=known)
    if node.op not in _FLIP:
        return None
    left, right, op = node.left, node.right, node.op
    if isinstance(left, cs.Literal):
        left, right, op = right, left, _FLIP[op]
    path = _path(left)
    if path is None or not isinstance(right, cs.Literal):
        return None
    term, value = ctx.term(path), right.value
    if value is None and op in ("==", "!="):
        return _known(term) if op == "!=" else _unknown(term)
    if isinstance(value, bool) and op in ("==", "!=") and not known:
        if op == "==":
            return _boolean(term, value)
        return f"it is not recorded that {_boolean(term, value)}"
    if isinstance(value, (int, float)):
        n = f"{value:g}" if isinstance(value, float) else str(value)
        phrase = (_AGE if term.age else _NUMBER)[op].format(n=n)
        return f"{term.noun} {'is known to be' if known else 'is'} {phrase}"
    if isinstance(value, str) and op in ("==", "!="):
        return _equals(term, [value], negate=op == "!=", known=known)
    return None


def _value(term: Term, value: object) -> str:
    if isinstance(value, str):
        if value in term.values:
            return term.values[value]
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
            return value.replace("_", " ").lower()
        return f"“{value}”"
    if value is None:
        return "not recorded"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _equals(term: Term, values: list[object], negate: bool, known: bool = False) -> str | None:
    """None when ``known`` asks for "known to be" and this wording cannot say it."""
    if known and (negate or term.equals):
        return None
    words = [_value(term, v) for v in values]
    if not words:
        return f"{term.noun} is one of no values (never)" if not negate else "always"
    joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    template = term.not_equals if negate else term.equals
    if template:
        return template.format(value=joined)
    if negate:
        return f"{term.noun} is not {joined}"
    return f"{term.noun} is {'known to be ' if known else ''}{joined}"


def _boolean(term: Term, value: bool) -> str:
    if value and term.is_true:
        return term.is_true
    if not value and term.is_false:
        return term.is_false
    return f"{term.noun} is {'yes' if value else 'no'}"


def _known(term: Term) -> str:
    return term.known or f"{term.noun} is recorded"


def _unknown(term: Term) -> str:
    if term.known:
        return term.known.replace(" is known", " is not known")
    return f"{term.noun} is not recorded"


def _join(texts: list[str], conj: str, compound: bool) -> str:
    if len(texts) == 1:
        return texts[0]
    sep = f", {conj} " if compound else f" {conj} "
    return ", ".join(texts[:-1]) + sep + texts[-1]


def _sentence(c: Clause, nested: bool) -> str:
    if c.kind == "leaf":
        return c.text
    if c.kind == "not":
        inner = c.parts[0]
        if inner.kind == "any" and all(p.kind == "leaf" for p in inner.parts):
            texts = [p.text for p in inner.parts]
            return "neither " + ", ".join(texts[:-1]) + " nor " + texts[-1]
        return "it is not the case that " + _sentence(inner, nested=True)
    texts = [_sentence(p, nested=True) for p in c.parts]
    compound = any(p.kind in ("all", "any") for p in c.parts)
    if c.kind == "any":
        return "either " + _join(texts, "or", compound)
    joined = _join(texts, "and", compound)
    if not nested:
        return joined
    return ("both " if len(texts) == 2 else "all of: ") + joined
