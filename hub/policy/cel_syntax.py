"""A parser for CEL (Common Expression Language) conditions into a small syntax tree.

The engine compiles and runs conditions with the ``cel`` package, which exposes no syntax
tree. Putting a condition into words needs its structure (which ``&&`` binds tighter than
which ``||``, what a ``has()`` guards), so this module parses the CEL grammar itself:
https://github.com/google/cel-spec/blob/master/doc/langdef.md#syntax. It is used for
wording only; what the hub enforces is always what ``cel`` evaluates.

Each node keeps its span in the source, so a part that cannot be put into words can be
quoted exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class CelSyntaxError(ValueError):
    """The text is not a CEL expression this parser understands."""


@dataclass(frozen=True)
class Node:
    start: int
    end: int


@dataclass(frozen=True)
class Literal(Node):
    value: Any  # str, int, float, bool, bytes or None (CEL null)


@dataclass(frozen=True)
class Ident(Node):
    name: str


@dataclass(frozen=True)
class Select(Node):
    operand: Node
    field: str


@dataclass(frozen=True)
class Call(Node):
    function: str
    target: Node | None  # receiver of a method call (``x.size()``), else None
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Index(Node):
    operand: Node
    index: Node


@dataclass(frozen=True)
class ListExpr(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class MapExpr(Node):
    entries: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "!" or "-"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # "||", "&&", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/", "%"
    left: Node
    right: Node


@dataclass(frozen=True)
class Conditional(Node):
    test: Node
    if_true: Node
    if_false: Node


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "str", "bytes", "ident", "op", "end"
    text: str
    value: Any
    start: int
    end: int


_OPERATORS = (
    "&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "%",
    "?", ":", ".", ",", "(", ")", "[", "]", "{", "}",
)  # fmt: skip
_RESERVED_WORDS = {"true": True, "false": False, "null": None}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "`": "`", "?": "?"}


def _read_string(src: str, pos: int) -> tuple[str, int]:
    """A quoted string starting at ``pos`` (after any r/b prefix): its value and end."""
    raw = pos > 0 and src[pos - 1] in "rR"
    quote = src[pos : pos + 3] if src[pos : pos + 3] in ('"""', "'''") else src[pos]
    i, out = pos + len(quote), list[str]()
    while i < len(src):
        if src.startswith(quote, i):
            return "".join(out), i + len(quote)
        ch = src[i]
        if ch == "\n" and len(quote) == 1:
            break
        if ch == "\\" and not raw and i + 1 < len(src):
            nxt = src[i + 1]
            if nxt not in _ESCAPES:
                raise CelSyntaxError(f"escape \\{nxt} at {i} is not supported for wording")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise CelSyntaxError(f"unterminated string starting at {pos}")


def _read_number(src: str, pos: int) -> tuple[Any, int]:
    i = pos
    if src.startswith(("0x", "0X"), i):
        i += 2
        while i < len(src) and src[i] in "0123456789abcdefABCDEF":
            i += 1
        value: Any = int(src[pos:i], 16)
    else:
        while i < len(src) and (src[i].isdigit() or src[i] in ".eE" or
                                (src[i] in "+-" and src[i - 1] in "eE")):  # fmt: skip
            if src[i] == "." and not (i + 1 < len(src) and src[i + 1].isdigit()):
                break  # ``1.size()`` style member access, not a fraction
            i += 1
        text = src[pos:i]
        value = float(text) if any(c in text for c in ".eE") else int(text)
    if i < len(src) and src[i] in "uU":
        i += 1  # unsigned: same value for wording
    return value, i


def tokenize(src: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(src):
        ch = src[i]
        if ch.isspace():
            i += 1
        elif src.startswith("//", i):
            while i < len(src) and src[i] != "\n":
                i += 1
        elif ch.isdigit():
            value, end = _read_number(src, i)
            tokens.append(_Token("num", src[i:end], value, i, end))
            i = end
        elif ch in "\"'" or (ch in "rRbB" and i + 1 < len(src) and src[i + 1] in "\"'"):
            body = i + 1 if ch in "rRbB" else i
            value, end = _read_string(src, body)
            kind = "bytes" if ch in "bB" else "str"
            tokens.append(_Token(kind, src[i:end], value, i, end))
            i = end
        elif ch.isalpha() or ch == "_":
            end = i
            while end < len(src) and (src[end].isalnum() or src[end] == "_"):
                end += 1
            tokens.append(_Token("ident", src[i:end], src[i:end], i, end))
            i = end
        else:
            op = next((o for o in _OPERATORS if src.startswith(o, i)), None)
            if op is None:
                raise CelSyntaxError(f"unexpected character {ch!r} at {i}")
            tokens.append(_Token("op", op, op, i, i + len(op)))
            i += len(op)
    tokens.append(_Token("end", "", None, len(src), len(src)))
    return tokens


class _Parser:
    """Recursive descent over the CEL grammar, one method per precedence level."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.tokens = tokenize(src)
        self.pos = 0

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def accept(self, *ops: str) -> _Token | None:
        tok = self.peek()
        if (tok.kind == "op" and tok.text in ops) or (tok.kind == "ident" and tok.text in ops):
            return self.take()
        return None

    def expect(self, op: str) -> _Token:
        tok = self.accept(op)
        if tok is None:
            found = self.peek().text or "the end"
            raise CelSyntaxError(f"expected {op!r} at {self.peek().start}, found {found!r}")
        return tok

    def expr(self) -> Node:
        test = self.binary_level(0)
        if self.accept("?"):
            if_true = self.binary_level(0)
            self.expect(":")
            if_false = self.expr()
            return Conditional(test.start, if_false.end, test, if_true, if_false)
        return test

    # Lowest to highest precedence; all left-associative.
    _LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",),
        ("&&",),
        ("==", "!=", "<", "<=", ">", ">=", "in"),
        ("+", "-"),
        ("*", "/", "%"),
    )

    def binary_level(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary_level(level + 1)
        while (tok := self.accept(*self._LEVELS[level])) is not None:
            right = self.binary_level(level + 1)
            left = Binary(left.start, right.end, tok.text, left, right)
        return left

    def unary(self) -> Node:
        tok = self.accept("!", "-")
        if tok is not None:
            operand = self.unary()
            return Unary(tok.start, operand.end, tok.text, operand)
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.accept("."):
                name = self.take()
                if name.kind != "ident":
                    raise CelSyntaxError(f"expected a field name at {name.start}")
                if self.accept("("):
                    args, end = self.arguments(")")
                    node = Call(node.start, end, name.text, node, args)
                else:
                    node = Select(node.start, name.end, node, name.text)
            elif self.accept("["):
                index = self.expr()
                end = self.expect("]").end
                node = Index(node.start, end, node, index)
            else:
                return node

    def arguments(self, close: str) -> tuple[tuple[Node, ...], int]:
        args: list[Node] = []
        if (tok := self.accept(close)) is not None:
            return (), tok.end
        while True:
            args.append(self.expr())
            if (tok := self.accept(close)) is not None:
                return tuple(args), tok.end
            self.expect(",")
            if (tok := self.accept(close)) is not None:  # trailing comma
                return tuple(args), tok.end

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind in ("num", "str", "bytes"):
            return Literal(tok.start, tok.end, tok.value)
        if tok.kind == "ident":
            if tok.text in _RESERVED_WORDS:
                return Literal(tok.start, tok.end, _RESERVED_WORDS[tok.text])
            if self.accept("("):
                args, end = self.arguments(")")
                return Call(tok.start, end, tok.text, None, args)
            return Ident(tok.start, tok.end, tok.text)
        if tok.kind == "op" and tok.text == "(":
            inner = self.expr()
            self.expect(")")
            return inner  # the span of a parenthesised part is its inside
        if tok.kind == "op" and tok.text == "[":
            items, end = self.arguments("]")
            return ListExpr(tok.start, end, items)
        if tok.kind == "op" and tok.text == "{":
            return self.map_literal(tok)
        raise CelSyntaxError(f"unexpected {tok.text or 'end of condition'!r} at {tok.start}")

    def map_literal(self, open_tok: _Token) -> Node:
        entries: list[tuple[Node, Node]] = []
        while (tok := self.accept("}")) is None:
            key = self.expr()
            self.expect(":")
            entries.append((key, self.expr()))
            if (tok := self.accept("}")) is not None:
                break
            self.expect(",")
        return MapExpr(open_tok.start, tok.end, tuple(entries))


def parse(source: str) -> Node:
    """The syntax tree of a CEL expression; ``CelSyntaxError`` when it is not one."""
    parser = _Parser(source)
    node = parser.expr()
    rest = parser.peek()
    if rest.kind != "end":
        raise CelSyntaxError(f"unexpected {rest.text!r} at {rest.start}")
    return node
