"""``$search``: free-text search over ``displayName`` (an incident's ``message``, which is its
text: incidents have no name; a dataset's or a dataset access's ``name``).

The OData 4.01 search grammar: words and ``"quoted phrases"`` combined with ``AND`` (also
implied by a space), ``OR`` and ``NOT``, with parentheses; ``NOT`` binds tightest, ``OR``
loosest. Each term matches a case-insensitive substring of ``displayName``; the result is an
ordinary typed expression, so it runs wherever ``$filter`` runs.
"""

from __future__ import annotations

import re

from flowruns.edm.model import EntityType
from flowruns.odata import semantic as s
from flowruns.odata.lexer import QuerySyntaxError
from flowruns.odata.nesting import MAX_NESTING

_OPTION = "$search"
_TOKEN = re.compile(
    r'\s*(?:(?P<open>\()|(?P<close>\))|"(?P<phrase>(?:[^"\\]|\\.)*)"|(?P<word>[^\s()"]+))'
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) with kind one of ( ) phrase word keyword end."""
    tokens: list[tuple[str, str, int]] = []
    i = 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        match = _TOKEN.match(text, i)
        if match is None:
            raise QuerySyntaxError(_OPTION, i, "unterminated phrase")
        at = match.start(match.lastgroup or 0)
        if match["open"]:
            tokens.append(("(", "(", at))
        elif match["close"]:
            tokens.append((")", ")", at))
        elif match["phrase"] is not None:
            phrase = re.sub(r"\\(.)", r"\1", match["phrase"])
            if not phrase:
                raise QuerySyntaxError(_OPTION, at, "a phrase must not be empty")
            tokens.append(("term", phrase, at))
        else:
            word = match["word"]
            kind = "keyword" if word in ("AND", "OR", "NOT") else "term"
            tokens.append((kind, word, at))
        i = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _SearchParser:
    def __init__(self, text: str, entity_type: EntityType) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.nesting = 0
        prop = next(
            p
            for name in ("displayName", "message", "name")
            if (p := entity_type.find_property(name)) is not None
        )
        self.name = s.Column(s.STRING, s.It(entity_type), prop)

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.index]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def any_of(self) -> s.Expr:
        left = self.all_of()
        while self.peek()[:2] == ("keyword", "OR"):
            self.take()
            left = s.Logical(s.BOOLEAN, "or", left, self.all_of())
        return left

    def all_of(self) -> s.Expr:
        left = self.term()
        while True:
            kind, text, _ = self.peek()
            if kind == "keyword" and text == "AND":
                self.take()
            elif kind not in ("term", "(") and (kind, text) != ("keyword", "NOT"):
                return left
            left = s.Logical(s.BOOLEAN, "and", left, self.term())

    def descend(self, position: int) -> None:
        """One level deeper (a parenthesis or ``NOT``), checked before the parser recurses."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise QuerySyntaxError(_OPTION, position, f"nested deeper than {MAX_NESTING} levels")

    def term(self) -> s.Expr:
        kind, text, position = self.take()
        if (kind, text) == ("keyword", "NOT"):
            self.descend(position)
            negated = self.term()
            self.nesting -= 1
            return s.Unary(s.BOOLEAN, "not", negated)
        if kind == "(":
            self.descend(position)
            inner = self.any_of()
            closing = self.take()
            if closing[0] != ")":
                raise QuerySyntaxError(_OPTION, closing[2], "expected ')'")
            self.nesting -= 1
            return inner
        if kind != "term":
            found = f"'{text}'" if text else "the end"
            raise QuerySyntaxError(_OPTION, position, f"expected a search term but found {found}")
        if "\x00" in text:  # no stored name holds one (writes refuse it)
            raise QuerySyntaxError(_OPTION, position, "a search term must not contain NUL")
        lowered = s.Function(s.STRING, "tolower", (self.name,))
        return s.Function(s.BOOLEAN, "contains", (lowered, s.Const(s.STRING, text.lower())))


def parse_search(text: str, entity_type: EntityType) -> s.Expr:
    """The ``$search`` expression as a typed Boolean expression over ``displayName``."""
    parser = _SearchParser(text, entity_type)
    if parser.peek()[0] == "end":
        raise QuerySyntaxError(_OPTION, 0, "a search term is required")
    result = parser.any_of()
    kind, text_, position = parser.peek()
    if kind != "end":
        raise QuerySyntaxError(_OPTION, position, f"unexpected '{text_}'")
    return result


def size(expr: s.Expr) -> tuple[int, int]:
    """(terms and operators, depth) of a parsed ``$search``; a chain of one ``AND`` or ``OR``
    counts as one level, as in ``$filter``. Measured without recursion."""
    measured: dict[int, tuple[int, int]] = {}
    pending: list[tuple[s.Expr, bool]] = [(expr, False)]
    while pending:
        current, ready = pending.pop()
        children: tuple[s.Expr, ...] = ()
        if isinstance(current, s.Logical):
            children = (current.left, current.right)
        elif isinstance(current, s.Unary):
            children = (current.operand,)
        if not ready:
            pending.append((current, True))
            pending.extend((child, False) for child in children)
            continue
        nodes, depth = 1, 0
        for child in children:
            child_nodes, child_depth = measured[id(child)]
            same_chain = (
                isinstance(current, s.Logical)
                and isinstance(child, s.Logical)
                and child.op == current.op
            )
            nodes += child_nodes
            depth = max(depth, child_depth if same_chain else child_depth + 1)
        measured[id(current)] = (nodes, depth)
    return measured[id(expr)]
