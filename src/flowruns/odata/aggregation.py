"""``$apply``: the subset of the OData Data Aggregation extension that dashboards need.

Transformations are chained with ``/`` and read left to right: any number of ``filter(expr)``
and ``compute(expr as alias, …)`` over the runs, then at most one ``groupby((keys…)[,
aggregate(…)])`` or ``aggregate(…)``. ``aggregate`` items are ``expr with method as alias``
(sum, min, max, average, countdistinct) or ``$count as alias``. Aliases from ``compute`` can
be grouped by and aggregated, so ``compute(date(startDateTime) as day)/groupby((day,status),
aggregate($count as runs))`` counts runs per day and status.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flowruns.edm.industrydata import MODEL
from flowruns.edm.model import EntityType
from flowruns.odata import semantic as s
from flowruns.odata.binder import Binder
from flowruns.odata.lexer import Kind, QuerySyntaxError, split_top_level
from flowruns.odata.semantic import Aggregate, Aggregation, Key
from flowruns.odata.syntax import Node, Parser, Path, parse_expression

OPTION = "$apply"
METHODS = ("sum", "min", "max", "average", "countdistinct")
# Checks a parsed expression against the limits of every common expression (node count,
# depth, nested lambdas), given its option and position; raises the option's 400.
ExpressionCheck = Callable[[Node, str, int], None]
_CALL = re.compile(r"\s*(?P<name>[A-Za-z]+)\s*\((?P<args>.*)\)\s*", re.DOTALL)


def parse_apply(
    text: str,
    entity_type: EntityType,
    now: int,
    check: ExpressionCheck,
    traversals: list[s.Traversal] | None = None,
) -> Aggregation:
    """``$apply`` bound to ``entity_type``; each expression in it is held to ``check``, and the
    navigations its steps follow are added to ``traversals``."""
    recorded = [] if traversals is None else traversals
    binder = Binder(MODEL, entity_type, OPTION, now, traversals=recorded)
    result = Aggregation()
    grouped = False
    for part, offset in split_top_level(text, "/", 0, OPTION):
        match = _CALL.fullmatch(part)
        if match is None:
            raise QuerySyntaxError(OPTION, offset, "expected a transformation such as filter(…)")
        name, args = match["name"], match["args"]
        at = offset + match.start("args")
        if grouped:
            raise QuerySyntaxError(
                OPTION, offset, f"'{name}' after groupby or aggregate is not supported"
            )
        if name == "filter":
            node = parse_expression(args, OPTION, at)
            check(node, OPTION, at)
            result.filters.append(binder.boolean(node))
        elif name == "compute":
            for item, item_at in split_top_level(args, ",", at, OPTION):
                expr, alias = _aliased(binder, item, item_at, check)
                binder.aliases[alias] = expr
        elif name == "aggregate":
            result.aggregates = _aggregates(binder, args, at, check)
            grouped = True
        elif name == "groupby":
            result.keys, result.aggregates = _groupby(binder, args, at, check)
            grouped = True
        else:
            raise QuerySyntaxError(OPTION, offset, f"the transformation '{name}' is not supported")
    if not grouped:
        raise QuerySyntaxError(OPTION, len(text), "$apply must end with groupby or aggregate")
    return result


def _alias(parser: Parser) -> str:
    keyword = parser.advance()
    if not keyword.is_word("as"):
        raise parser.error(keyword, "expected 'as'")
    alias = parser.advance()
    if alias.kind is not Kind.IDENTIFIER or "." in alias.text:
        raise parser.error(alias, "expected an alias name")
    parser.expect_end()
    return alias.text


def _aliased(binder: Binder, text: str, offset: int, check: ExpressionCheck) -> tuple[s.Expr, str]:
    parser = Parser(text, OPTION, offset)
    node = parser.expression()
    check(node, OPTION, offset)
    expr = binder.value(node)
    if expr.type.kind in (s.Kind.DYNAMIC, s.Kind.COMPLEX, s.Kind.NULL):
        raise parser.error(parser.peek(), f"cannot compute a value of type {expr.type.name}")
    alias = _alias(parser)
    _check_new(binder, alias, parser)
    return expr, alias


def _check_new(binder: Binder, alias: str, parser: Parser) -> None:
    taken = binder.aliases.keys() | {p.name for p in binder.entity_type.properties}
    if alias in taken:
        raise parser.error(parser.tokens[-2], f"'{alias}' is already a property or alias")


def _aggregates(binder: Binder, text: str, offset: int, check: ExpressionCheck) -> list[Aggregate]:
    result: list[Aggregate] = []
    for item, at in split_top_level(text, ",", offset, OPTION):
        parser = Parser(item, OPTION, at)
        if parser.peek().is_symbol("$count"):
            parser.advance()
            alias = _alias(parser)
            result.append(Aggregate(alias, "count", None))
        else:
            node = parser.expression()
            check(node, OPTION, at)
            expr = binder.value(node)
            if expr.type.kind is s.Kind.DYNAMIC:
                expr = s.Function(s.DOUBLE, s.JsonFunction.NUMBER, (expr,))
            with_ = parser.advance()
            if not with_.is_word("with"):
                raise parser.error(with_, "expected 'with'")
            method = parser.advance()
            if method.text not in METHODS:
                raise parser.error(method, f"expected one of {', '.join(METHODS)}")
            numeric = expr.type.kind in (s.Kind.INT, s.Kind.DOUBLE, s.Kind.DURATION)
            if method.text in ("sum", "average") and not numeric:
                raise parser.error(method, f"cannot {method.text} values of type {expr.type.name}")
            if expr.type.kind in (s.Kind.COMPLEX, s.Kind.NULL, s.Kind.BOOLEAN):
                raise parser.error(method, f"cannot aggregate values of type {expr.type.name}")
            alias = _alias(parser)
            result.append(Aggregate(alias, method.text, expr))
        if any(a.alias == result[-1].alias for a in result[:-1]):
            raise QuerySyntaxError(OPTION, at, f"the alias '{result[-1].alias}' is used twice")
    return result


def _groupby(
    binder: Binder, text: str, offset: int, check: ExpressionCheck
) -> tuple[list[Key], list[Aggregate]]:
    parts = split_top_level(text, ",", offset, OPTION)
    keys_text, keys_at = parts[0]
    stripped = keys_text.strip()
    if not (stripped.startswith("(") and stripped.endswith(")")):
        raise QuerySyntaxError(OPTION, keys_at, "groupby takes a parenthesised list of properties")
    inner_at = keys_at + keys_text.index("(") + 1
    keys: list[Key] = []
    for item, at in split_top_level(stripped[1:-1], ",", inner_at, OPTION):
        node = parse_expression(item, OPTION, at)
        if not isinstance(node, Path):
            raise QuerySyntaxError(OPTION, at, "groupby keys are properties or aliases")
        expr = binder.value(node)
        if expr.type.kind in (s.Kind.DYNAMIC, s.Kind.COMPLEX):
            raise QuerySyntaxError(OPTION, at, f"cannot group by a value of type {expr.type.name}")
        path = tuple(seg.name for seg in node.segments if seg.name not in ("$it", "$this"))
        keys.append(Key(expr, _canonical(binder, path)))
    aggregates: list[Aggregate] = []
    if len(parts) == 2:
        rest, rest_at = parts[1]
        match = _CALL.fullmatch(rest)
        if match is None or match["name"] != "aggregate":
            raise QuerySyntaxError(OPTION, rest_at, "expected aggregate(…) after the keys")
        aggregates = _aggregates(binder, match["args"], rest_at + match.start("args"), check)
    elif len(parts) > 2:
        raise QuerySyntaxError(OPTION, parts[2][1], "groupby takes keys and one aggregate(…)")
    clash = {k.path[0] for k in keys} & {a.alias for a in aggregates}
    if clash:
        raise QuerySyntaxError(OPTION, offset, f"'{clash.pop()}' is both a key and an alias")
    return keys, aggregates


def _canonical(binder: Binder, path: tuple[str, ...]) -> tuple[str, ...]:
    """The path with property names spelled as the model spells them."""
    if len(path) == 1 and path[0] in binder.aliases:
        return path
    names: list[str] = []
    entity: EntityType | None = binder.entity_type
    for segment in path:
        if entity is None:
            names.append(segment)
            continue
        prop = next((p for p in entity.properties if p.name.lower() == segment.lower()), None)
        navigation = next(
            (n for n in entity.navigations if n.name.lower() == segment.lower()), None
        )
        if prop is not None:
            names.append(prop.name)
            entity = None
        elif navigation is not None:
            names.append(navigation.name)
            entity = MODEL.entity_type(navigation.target)
        else:
            names.append(segment)
    return tuple(names)
