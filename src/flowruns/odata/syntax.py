"""OData common expressions: the syntax tree and its parser.

The parser knows the grammar, not the model: ``status eq 'failed'`` parses the same whatever
``status`` is. :mod:`flowruns.odata.binder` then checks names and types against the model.
Operator precedence follows OData 4.01 URL Conventions §5.1.1.15, lowest first:
``or``; ``and``; ``eq ne``; ``gt ge lt le has in``; ``add sub``; ``mul div divby mod``; then the
unary ``-`` and ``not``. Keywords, operators and function names are case-insensitive, as the
ABNF's quoted strings are (``EQ``, ``Not``, ``startsWith``); the tree holds them in lower case.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowruns.odata.lexer import Kind, QuerySyntaxError, Token, tokenize
from flowruns.odata.nesting import MAX_NESTING


@dataclass(frozen=True)
class Node:
    position: int


@dataclass(frozen=True)
class Literal(Node):
    token: Token


@dataclass(frozen=True)
class Segment:
    name: str  # an identifier, a qualified type name, or $it / $this / $root / $count
    position: int


@dataclass(frozen=True)
class Path(Node):
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Lambda(Node):
    """``path/any(v: body)``, ``path/all(v: body)`` or ``path/any()``."""

    collection: Path
    kind: str
    variable: str | None
    body: Node | None


@dataclass(frozen=True)
class Call(Node):
    name: str  # as written; compare lower-cased
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "not" or "-"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Node, ...]


PRECEDENCE = {
    "or": 1,
    "and": 2,
    "eq": 3,
    "ne": 3,
    "gt": 4,
    "ge": 4,
    "lt": 4,
    "le": 4,
    "has": 4,
    "in": 4,
    "add": 5,
    "sub": 5,
    "mul": 6,
    "div": 6,
    "divby": 6,
    "mod": 6,
}
_LITERAL_KINDS = {
    Kind.STRING,
    Kind.INTEGER,
    Kind.DECIMAL,
    Kind.DATE,
    Kind.DATE_TIME,
    Kind.TIME,
    Kind.GUID,
    Kind.TYPED,
}


class Parser:
    """A recursive-descent parser over the tokens of one option value."""

    def __init__(self, text: str, option: str, offset: int = 0) -> None:
        self.option = option
        self.offset = offset
        self.tokens = tokenize(text, option)
        self.index = 0
        self.nesting = 0

    # -- token helpers -------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def error(self, token: Token, problem: str) -> QuerySyntaxError:
        return QuerySyntaxError(self.option, self.offset + token.position, problem)

    def expect_symbol(self, symbol: str) -> Token:
        token = self.advance()
        if not token.is_symbol(symbol):
            found = f"'{token.text}'" if token.text else "the end"
            raise self.error(token, f"expected '{symbol}' but found {found}")
        return token

    def at_end(self) -> bool:
        return self.peek().kind is Kind.END

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind is not Kind.END:
            raise self.error(token, f"unexpected '{token.text}'")

    def pos(self, token: Token) -> int:
        return self.offset + token.position

    # -- expressions ---------------------------------------------------------------------

    def descend(self) -> None:
        """One level deeper: checked before the parser recurses, so no text nests past
        :data:`MAX_NESTING` (an error ends the parse, so only returns climb back up)."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(self.peek(), f"the expression nests deeper than {MAX_NESTING} levels")

    def expression(self, min_precedence: int = 1) -> Node:
        self.descend()
        left = self.unary()
        while True:
            token = self.peek()
            word = token.text.lower()
            precedence = PRECEDENCE.get(word) if token.kind is Kind.IDENTIFIER else None
            if precedence is None or precedence < min_precedence:
                break
            self.advance()
            if word == "in":
                left = InList(self.pos(token), left, self.item_list())
            else:
                right = self.expression(precedence + 1)
                left = Binary(self.pos(token), word, left, right)
        self.nesting -= 1
        return left

    def item_list(self) -> tuple[Node, ...]:
        self.expect_symbol("(")
        items = [self.expression()]
        while self.peek().is_symbol(","):
            self.advance()
            items.append(self.expression())
        self.expect_symbol(")")
        return tuple(items)

    def unary(self) -> Node:
        token = self.peek()
        if (
            token.is_word("not")
            and not self.peek(1).is_symbol("/", ",", ")")
            and (self.peek(1).kind is not Kind.END)
        ):
            self.advance()
            op = "not"
        elif token.is_symbol("-"):
            self.advance()
            op = "-"
        else:
            return self.primary()
        self.descend()
        operand = self.unary()
        self.nesting -= 1
        return Unary(self.pos(token), op, operand)

    def primary(self) -> Node:
        token = self.advance()
        if token.is_symbol("("):
            inner = self.expression()
            self.expect_symbol(")")
            return inner
        if token.kind in _LITERAL_KINDS:
            return Literal(self.pos(token), token)
        if token.kind is Kind.IDENTIFIER:
            if token.is_word("null", "true", "false"):
                keyword = Token(token.kind, token.text.lower(), token.position)
                return Literal(self.pos(token), keyword)
            if self.peek().is_symbol("(") and "." not in token.text:
                return self.call(token)
            return self.path(token)
        if token.is_symbol("$it", "$this", "$root", "$count"):
            return self.path(token)
        if token.kind is Kind.PARAMETER:
            raise self.error(token, f"parameter aliases such as '{token.text}' are not supported")
        found = f"'{token.text}'" if token.text else "the end"
        raise self.error(token, f"expected an expression but found {found}")

    def call(self, name: Token) -> Call:
        self.expect_symbol("(")
        args: list[Node] = []
        if not self.peek().is_symbol(")"):
            args.append(self.expression())
            while self.peek().is_symbol(","):
                self.advance()
                args.append(self.expression())
        self.expect_symbol(")")
        return Call(self.pos(name), name.text, tuple(args))

    def path(self, first: Token) -> Node:
        segments = [Segment(first.text, self.pos(first))]
        while self.peek().is_symbol("/"):
            self.advance()
            token = self.advance()
            if token.is_word("any", "all") and self.peek().is_symbol("("):
                return self.lambda_(Path(segments[0].position, tuple(segments)), token)
            if token.kind is Kind.IDENTIFIER or token.is_symbol("$count"):
                segments.append(Segment(token.text, self.pos(token)))
                continue
            raise self.error(token, "expected a property name after '/'")
        return Path(segments[0].position, tuple(segments))

    def lambda_(self, collection: Path, kind: Token) -> Lambda:
        self.expect_symbol("(")
        if self.peek().is_symbol(")"):
            self.advance()
            if kind.text.lower() == "all":
                raise self.error(kind, "'all' needs a lambda expression")
            return Lambda(self.pos(kind), collection, kind.text.lower(), None, None)
        variable = self.advance()
        if variable.kind is not Kind.IDENTIFIER or "." in variable.text:
            raise self.error(variable, "expected a lambda variable name")
        self.expect_symbol(":")
        body = self.expression()
        self.expect_symbol(")")
        return Lambda(self.pos(kind), collection, kind.text.lower(), variable.text, body)


def parse_expression(text: str, option: str, offset: int = 0) -> Node:
    """The syntax tree of a whole common expression (``$filter``'s value, for instance)."""
    if not text.strip():
        raise QuerySyntaxError(option, offset, "an expression is required")
    parser = Parser(text, option, offset)
    node = parser.expression()
    parser.expect_end()
    return node


def parse_order_items(text: str, option: str, offset: int = 0) -> list[tuple[Node, bool]]:
    """``$orderby``: expressions, each with ``asc`` (False) or ``desc`` (True)."""
    parser = Parser(text, option, offset)
    items: list[tuple[Node, bool]] = []
    while True:
        if parser.at_end():
            raise parser.error(parser.peek(), "expected an expression to order by")
        node = parser.expression()
        descending = False
        if parser.peek().is_word("asc", "desc"):
            descending = parser.advance().text.lower() == "desc"
        items.append((node, descending))
        if parser.at_end():
            return items
        if not parser.peek().is_symbol(","):
            raise parser.error(parser.peek(), "expected 'asc', 'desc' or ','")
        parser.advance()


@dataclass(frozen=True)
class Size:
    """How big a tree is: its nodes, its depth (a chain of one ``and``/``or`` counts as one
    level) and how many lambdas (``any``/``all``) it nests in one another."""

    nodes: int
    depth: int
    lambdas: int


def _children(node: Node) -> tuple[Node, ...]:
    match node:
        case Binary(left=left, right=right):
            return (left, right)
        case Unary(operand=operand):
            return (operand,)
        case Call(args=args):
            return args
        case InList(operand=operand, items=items):
            return (operand, *items)
        case Lambda(body=body) if body is not None:
            return (body,)
    return ()


def _same_chain(parent: Node, child: Node) -> bool:
    return (
        isinstance(parent, Binary)
        and isinstance(child, Binary)
        and parent.op == child.op
        and parent.op in ("and", "or")
    )


def size(node: Node) -> Size:
    """The :class:`Size` of a tree, measured without recursion: a chain of operators such as
    ``1 add 1 add …`` is as deep as it is long, whatever the parser's nesting limit."""
    measured: dict[int, tuple[int, int, int]] = {}
    pending: list[tuple[Node, bool]] = [(node, False)]
    while pending:
        current, ready = pending.pop()
        children = _children(current)
        if not ready:
            pending.append((current, True))
            pending.extend((child, False) for child in children)
            continue
        nodes, depth, lambdas = 1, 0, 0
        for child in children:
            child_nodes, child_depth, child_lambdas = measured[id(child)]
            nodes += child_nodes
            depth = max(depth, child_depth if _same_chain(current, child) else child_depth + 1)
            lambdas = max(lambdas, child_lambdas)
        measured[id(current)] = (nodes, depth, lambdas + isinstance(current, Lambda))
    return Size(*measured[id(node)])
