"""Hypothesis strategies that write ``$filter`` and ``$orderby`` text over the flowruns model.

The strategies know the grammar and the model's types, so what they write binds: comparisons
of every type (enums bare, qualified and by number, date-times and dates, durations such as
``endDateTime sub startDateTime``), arithmetic, the string and date functions, ``statistics``
members of any JSON type, ``blockingError`` paths, the ``process`` navigation, ``isof``,
``any``/``all``, ``in``, ``has``, ``not`` and null comparisons. Literals are drawn from the
stored values and their case variants, so that comparisons match some rows and not others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.conftest import NS
from tests.query.history import CODES, INSTANTS, STATISTIC_NAMES, WORDS

Draw = st.DrawFn

RUN_STATUS = ["running", "failed", "completed", "completedWithErrors", "completedWithWarnings"]
READINESS = ["notReady", "ready", "failed", "deleted", "expired"]
SHARING = ["pending", "running", "problem"]
DATA_SHARE = f"{NS}.dataShareOutgoingFlow"
_STRINGS = sorted(
    {
        *WORDS,
        *(w.lower() for w in WORDS),
        *(w.upper() for w in WORDS),
        *CODES,
        *(w[:2] for w in WORDS),
        *(w[-2:] for w in WORDS),
        "ss",
        "SS",
        "i̇",
        "\u03c3",  # small sigma
        "\u03c2",  # final small sigma
        "crm",
        "u1",
        "share",
        " ",
    }
)
_COMPARISONS = ["eq", "ne", "gt", "ge", "lt", "le"]


@dataclass(frozen=True)
class Scope:
    """Where an expression is written: on which entity, through which variable prefix."""

    entity: str  # "run" or "process"
    prefix: str = ""  # "" for $it, or "r1/" inside a lambda over runs
    lambdas: int = 0  # lambda variables already in use (names must differ)


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _string_literal(draw: Draw) -> str:
    return quote(draw(st.sampled_from(_STRINGS)))


def _int_literal(draw: Draw) -> str:
    return str(draw(st.integers(-20, 20) | st.sampled_from([0, 1, 2, 1000, 10**12])))


def _double_literal(draw: Draw) -> str:
    return draw(st.sampled_from(["0.5", "-2.25", "3.0", "1e-3", "7.75", "1.5E1", "-0.0"]))


def _datetime_literal(draw: Draw) -> str:
    return draw(st.sampled_from([*INSTANTS, "2026-01-01T01:00:00+01:00", "1970-01-01T00:00:00Z"]))


def _duration_literal(draw: Draw) -> str:
    text = draw(st.sampled_from(["PT0S", "PT1S", "PT1H", "P1D", "PT0.5S", "P2DT3H4M5.25S"]))
    return f"duration'{'-' if draw(st.booleans()) and text != 'PT0S' else ''}{text}'"


def _enum_literal(draw: Draw, enum: str, members: list[str]) -> str:
    member = draw(st.sampled_from(members))
    form = draw(st.sampled_from(["bare", "qualified", "number", "upper"]))
    if form == "qualified":
        return f"{NS}.{enum}'{member}'"
    if form == "number":
        return quote(str(members.index(member)))
    if form == "upper":
        return quote(member.upper())
    return quote(member)


# -- typed expressions ------------------------------------------------------------------


def string(draw: Draw, scope: Scope, depth: int) -> str:
    p = scope.prefix
    paths = ["displayName", "process/displayName"]
    if scope.entity == "run":
        paths += [
            "blockingError/code",
            "blockingError/message",
            "blockingError/target",
            "blockingError/innerError/code",
            f"process/{DATA_SHARE}/shareName",
        ]
    else:
        paths = ["displayName", f"{DATA_SHARE}/shareName"]
    choices = ["path", "path", "literal"]
    if depth > 0:
        choices += ["tolower", "toupper", "trim", "concat", "substring"]
    choice = draw(st.sampled_from(choices))
    if choice == "path":
        return p + draw(st.sampled_from(paths))
    if choice == "literal":
        return _string_literal(draw)
    if choice == "concat":
        return f"concat({string(draw, scope, depth - 1)}, {string(draw, scope, depth - 1)})"
    if choice == "substring":
        args = [string(draw, scope, depth - 1), integer(draw, scope, depth - 1)]
        if draw(st.booleans()):
            args.append(integer(draw, scope, depth - 1))
        return f"substring({', '.join(args)})"
    return f"{choice}({string(draw, scope, depth - 1)})"


def integer(draw: Draw, scope: Scope, depth: int) -> str:
    choices = ["literal", "literal"]
    if depth > 0:
        choices += ["length", "indexof", "datepart", "arithmetic", "negate", "count"]
    choice = draw(st.sampled_from(choices))
    if choice == "literal":
        return _int_literal(draw)
    if choice == "length":
        return f"length({string(draw, scope, depth - 1)})"
    if choice == "indexof":
        return f"indexof({string(draw, scope, depth - 1)}, {string(draw, scope, depth - 1)})"
    if choice == "datepart":
        part = draw(st.sampled_from(["year", "month", "day", "hour", "minute", "second"]))
        if part in ("year", "month", "day") and draw(st.booleans()):
            return f"{part}({date(draw, scope, depth - 1)})"
        return f"{part}({datetime(draw, scope, depth - 1)})"
    if choice == "negate":
        return f"-({integer(draw, scope, depth - 1)})"
    if choice == "count":
        p = scope.prefix
        if scope.entity == "process":
            return p + "runs/$count"
        return p + draw(
            st.sampled_from(
                [
                    "statistics/tags/$count",
                    "statistics/errors/$count",
                    "blockingError/details/$count",
                    "process/runs/$count",
                ]
            )
        )
    op = draw(st.sampled_from(["add", "sub", "mul", "div", "mod"]))
    return f"({integer(draw, scope, depth - 1)} {op} {integer(draw, scope, depth - 1)})"


def statistic(draw: Draw, scope: Scope) -> str:
    name = draw(st.sampled_from([*STATISTIC_NAMES, "nested/x", "nested/y/z", "missing"]))
    return f"{scope.prefix}statistics/{name}"


def double(draw: Draw, scope: Scope, depth: int) -> str:
    choices = ["literal"]
    if scope.entity == "run":
        choices += ["statistic", "statistic"]
    if depth > 0:
        choices += ["arithmetic", "divby"]
    choice = draw(st.sampled_from(choices))
    if choice == "literal":
        return _double_literal(draw)
    if choice == "statistic":
        return f"({statistic(draw, scope)} add 0)"  # arithmetic reads a member as a number
    op = (
        "divby" if choice == "divby" else draw(st.sampled_from(["add", "sub", "mul", "div", "mod"]))
    )
    left = draw(st.sampled_from([double, integer]))(draw, scope, depth - 1)
    return f"({left} {op} {double(draw, scope, depth - 1)})"


def datetime(draw: Draw, scope: Scope, depth: int) -> str:
    choices = ["literal"]
    if scope.entity == "run":
        choices += ["start", "end", "start"]
    if depth > 0:
        choices += ["shift"]
    choice = draw(st.sampled_from(choices))
    if choice == "literal":
        return _datetime_literal(draw)
    if choice == "start":
        return scope.prefix + "startDateTime"
    if choice == "end":
        return scope.prefix + "endDateTime"
    op = draw(st.sampled_from(["add", "sub"]))
    return f"({datetime(draw, scope, depth - 1)} {op} {duration(draw, scope, depth - 1)})"


def date(draw: Draw, scope: Scope, depth: int) -> str:
    if depth > 0 and scope.entity == "run" and draw(st.booleans()):
        return f"date({datetime(draw, scope, depth - 1)})"
    return draw(st.sampled_from(["1969-12-31", "2024-02-29", "2026-01-01", "2001-02-03"]))


def duration(draw: Draw, scope: Scope, depth: int) -> str:
    choices = ["literal"]
    if depth > 0:
        choices += ["arithmetic", "negate"]
        if scope.entity == "run":
            choices += ["elapsed", "elapsed", "dates"]
    choice = draw(st.sampled_from(choices))
    p = scope.prefix
    if choice == "literal":
        return _duration_literal(draw)
    if choice == "elapsed":
        return f"({p}endDateTime sub {datetime(draw, scope, depth - 1)})"
    if choice == "dates":
        return f"({date(draw, scope, depth - 1)} sub {date(draw, scope, depth - 1)})"
    if choice == "negate":
        return f"-({duration(draw, scope, depth - 1)})"
    op = draw(st.sampled_from(["add", "sub"]))
    return f"({duration(draw, scope, depth - 1)} {op} {duration(draw, scope, depth - 1)})"


def _enum_pair(draw: Draw, scope: Scope) -> tuple[str, str, list[str]]:
    """(path, enum type name, members) of an enumeration-valued path."""
    p = scope.prefix
    if scope.entity == "run":
        options = [
            ("status", "runStatus", RUN_STATUS),
            ("status", "runStatus", RUN_STATUS),
            ("process/readinessStatus", "readinessStatus", READINESS),
            (f"process/{DATA_SHARE}/sharingState", "dataShareSharingState", SHARING),
        ]
    else:
        options = [
            ("readinessStatus", "readinessStatus", READINESS),
            (f"{DATA_SHARE}/sharingState", "dataShareSharingState", SHARING),
        ]
    path, enum, members = draw(st.sampled_from(options))
    return p + path, enum, members


# -- predicates -------------------------------------------------------------------------

_Typed = Callable[[Draw, Scope, int], str]


def _comparison(draw: Draw, scope: Scope, depth: int) -> str:
    op = draw(st.sampled_from(_COMPARISONS))
    kinds: list[str] = ["string", "integer", "double", "enum", "duration", "date", "boolean"]
    if scope.entity == "run":
        kinds += ["datetime", "datetime", "statistic", "statistic"]
    kind = draw(st.sampled_from(kinds))
    if kind == "enum":
        path, enum, members = _enum_pair(draw, scope)
        literal = _enum_literal(draw, enum, members)
        return f"{path} {op} {literal}" if draw(st.booleans()) else f"{literal} {op} {path}"
    if kind == "statistic":
        member = statistic(draw, scope)
        other = draw(
            st.sampled_from(
                ["number", "string", "boolean", "null", "member", "typed", "number", "string"]
            )
        )
        if other == "number":
            right = draw(st.sampled_from([_int_literal, _double_literal]))(draw)
        elif other == "string":
            right = quote(draw(st.sampled_from(["x", "crm", "CRM", "5", "true", "", "ß"])))
        elif other == "boolean":
            right = draw(st.sampled_from(["true", "false"]))
        elif other == "null":
            right = "null"
            op = draw(st.sampled_from(["eq", "ne"]))
        elif other == "member":
            right = statistic(draw, scope)
        else:
            right = draw(st.sampled_from([integer, string]))(draw, scope, depth - 1)
        return f"{member} {op} {right}"
    if kind == "datetime" and draw(st.booleans()):
        date_literal = date(draw, scope, 0)
        return f"{datetime(draw, scope, depth - 1)} {op} {date_literal}"
    if kind == "boolean":
        return f"({predicate(draw, scope, depth - 1)}) {op} ({predicate(draw, scope, depth - 1)})"
    typed: dict[str, _Typed] = {
        "string": string,
        "integer": integer,
        "double": double,
        "duration": duration,
        "date": date,
        "datetime": datetime,
    }
    make = typed[kind]
    return f"{make(draw, scope, depth - 1)} {op} {make(draw, scope, depth - 1)}"


def _null_test(draw: Draw, scope: Scope) -> str:
    p = scope.prefix
    if scope.entity == "run":
        paths = [
            "endDateTime",
            "blockingError",
            "blockingError/code",
            "blockingError/innerError",
            "process",
            "process/readinessStatus",
            f"process/{DATA_SHARE}/shareName",
            "statistics/a",
            "statistics/nested/x",
        ]
    else:
        paths = ["readinessStatus", f"{DATA_SHARE}/shareName", f"{DATA_SHARE}/sharingState"]
    path = p + draw(st.sampled_from(paths))
    op = draw(st.sampled_from(["eq", "ne"]))
    return f"{path} {op} null" if draw(st.booleans()) else f"null {op} {path}"


def _in_list(draw: Draw, scope: Scope, depth: int) -> str:
    kind = draw(st.sampled_from(["enum", "string", "integer", "statistic"]))
    count = draw(st.integers(1, 3))
    if kind == "enum":
        path, enum, members = _enum_pair(draw, scope)
        items = [_enum_literal(draw, enum, members) for _ in range(count)]
        return f"{path} in ({', '.join(items)})"
    if kind == "statistic" and scope.entity == "run":
        literals = [_int_literal, _double_literal, _string_literal]
        items = [draw(st.sampled_from(literals))(draw) for _ in range(count)]
        return f"{statistic(draw, scope)} in ({', '.join(items)})"
    make: _Typed = integer if kind == "integer" else string
    items = [make(draw, scope, 0) for _ in range(count)]
    if draw(st.booleans()):
        items.append("null")
    return f"{make(draw, scope, depth - 1)} in ({', '.join(items)})"


def _isof(draw: Draw, scope: Scope) -> str:
    p = scope.prefix.rstrip("/")
    if scope.entity == "run":
        run_types = ["outgoingFlowRun", "incomingFlowRun", "runGroup", "run"]
        process_types = ["dataShareOutgoingFlow", "insightsOutgoingFlow", "outgoingFlow"]
        target = draw(st.sampled_from(["self", "process"]))
        if target == "process":
            return (
                f"isof({p + '/' if p else ''}process, {NS}.{draw(st.sampled_from(process_types))})"
            )
        name = f"{NS}.{draw(st.sampled_from(run_types))}"
    else:
        types = ["dataShareOutgoingFlow", "insightsOutgoingFlow", "outgoingFlow", "process"]
        name = f"{NS}.{draw(st.sampled_from(types))}"
    written = quote(name) if draw(st.booleans()) else name
    if p:
        return f"isof({p}, {written})"
    return f"isof({written})"


def _lambda(draw: Draw, scope: Scope, depth: int) -> str:
    kind = draw(st.sampled_from(["any", "all"]))
    var = f"v{scope.lambdas}"
    p = scope.prefix
    inner = Scope(scope.entity, "", scope.lambdas + 1)
    if scope.entity == "process":
        target = draw(st.sampled_from(["runs", "runs", "invitees"]))
        if target == "runs":
            if kind == "any" and draw(st.integers(0, 4)) == 0:
                return f"{p}runs/any()"
            body = predicate(draw, Scope("run", f"{var}/", inner.lambdas), depth - 1)
            return f"{p}runs/{kind}({var}: {body})"
        body = _element_predicate(draw, var, "string")
        return f"{p}{DATA_SHARE}/inviteeUserIds/{kind}({var}: {body})"
    target = draw(st.sampled_from(["tags", "errors", "details", "members", "siblings"]))
    if target in ("members", "siblings"):
        # A group's member runs, or the runs of the run's own process.
        path = f"{p}{NS}.runGroup/runs" if target == "members" else f"{p}process/runs"
        if kind == "any" and draw(st.integers(0, 4)) == 0:
            return f"{path}/any()"
        body = predicate(draw, Scope("run", f"{var}/", inner.lambdas), depth - 1)
        return f"{path}/{kind}({var}: {body})"
    collection = {
        "tags": "statistics/tags",
        "errors": "statistics/errors",
        "details": "blockingError/details",
    }[target]
    if kind == "any" and draw(st.integers(0, 4)) == 0:
        return f"{p}{collection}/any()"
    element = "complex" if target == "details" else "dynamic"
    body = _element_predicate(draw, var, element)
    if target == "errors" and draw(st.integers(0, 3)) == 0:
        body = f"{var}/tags/any(w{scope.lambdas}: w{scope.lambdas} eq 'a')"
    return f"{p}{collection}/{kind}({var}: {body})"


def _element_predicate(draw: Draw, var: str, element: str) -> str:
    """A lambda body over the items of a JSON collection."""
    if element == "string":
        value = var
    elif element == "complex":
        value = f"{var}/{draw(st.sampled_from(['code', 'message', 'target']))}"
    else:
        value = draw(st.sampled_from([var, f"{var}/code", f"{var}/message"]))
    form = draw(st.sampled_from(["compare", "function", "null"]))
    if form == "null":
        return f"{value} {draw(st.sampled_from(['eq', 'ne']))} null"
    if form == "function" and element != "dynamic":
        name = draw(st.sampled_from(["contains", "startswith", "endswith"]))
        return f"{name}(tolower({value}), {_string_literal(draw)})"
    op = draw(st.sampled_from(_COMPARISONS))
    if element == "dynamic":
        right = draw(st.sampled_from([_int_literal, _string_literal]))(draw)
    else:
        right = _string_literal(draw)
    return f"{value} {op} {right}"


def predicate(draw: Draw, scope: Scope, depth: int) -> str:
    """A Boolean expression over ``scope``."""
    choices = ["comparison", "comparison", "comparison", "null", "in", "isof", "function"]
    choices += ["has", "constant"]
    if scope.entity == "run":
        choices += ["flag"]
    if depth > 0:
        choices += ["and", "or", "not", "lambda", "and", "or"]
        if scope.entity == "run":
            choices += ["lambda"]
    choice = draw(st.sampled_from(choices))
    if choice == "comparison":
        return _comparison(draw, scope, max(depth, 1))
    if choice == "null":
        return _null_test(draw, scope)
    if choice == "in":
        return _in_list(draw, scope, depth)
    if choice == "isof":
        return _isof(draw, scope)
    if choice == "has":
        path, enum, members = _enum_pair(draw, scope)
        return f"{path} has {_enum_literal(draw, enum, members)}"
    if choice == "constant":
        return draw(st.sampled_from(["true", "false"]))
    if choice == "flag":
        return f"{scope.prefix}statistics/flag"
    if choice == "function":
        name = draw(st.sampled_from(["contains", "startswith", "endswith", "startsWith"]))
        return f"{name}({string(draw, scope, depth)}, {string(draw, scope, depth)})"
    if choice == "not":
        return f"not ({predicate(draw, scope, depth - 1)})"
    if choice == "lambda":
        return _lambda(draw, scope, depth)
    left, right = predicate(draw, scope, depth - 1), predicate(draw, scope, depth - 1)
    return f"({left}) {choice} ({right})"


@st.composite
def filters(draw: Draw, entity: str) -> str:
    """``$filter`` text over a collection of ``entity`` ("run" or "process")."""
    return predicate(draw, Scope(entity), draw(st.integers(0, 3)))


def _order_key(draw: Draw, scope: Scope) -> str:
    kinds: list[str] = ["string", "integer", "enum", "predicate", "id"]
    if scope.entity == "run":
        kinds += ["double", "datetime", "duration", "date", "statistic", "statistic"]
    kind = draw(st.sampled_from(kinds))
    if kind == "id":
        return draw(st.sampled_from(["id", "process/id"] if scope.entity == "run" else ["id"]))
    if kind == "enum":
        return _enum_pair(draw, scope)[0]
    if kind == "statistic":
        return statistic(draw, scope)
    if kind == "predicate":
        return predicate(draw, scope, 1)
    typed: dict[str, _Typed] = {
        "string": string,
        "integer": integer,
        "double": double,
        "duration": duration,
        "date": date,
        "datetime": datetime,
    }
    return typed[kind](draw, scope, draw(st.integers(0, 2)))


@st.composite
def orderings(draw: Draw, entity: str) -> str:
    """``$orderby`` text: one to three keys, each with or without ``asc``/``desc``."""
    keys = []
    for _ in range(draw(st.integers(1, 3))):
        key = _order_key(draw, Scope(entity))
        direction = draw(st.sampled_from(["", " asc", " desc"]))
        keys.append(key + direction)
    return ",".join(keys)


def _search_term(draw: Draw) -> str:
    word = draw(st.sampled_from([w.strip() for w in _STRINGS if w.strip()]))
    if any(c in word for c in ' ()"') or word in ("AND", "OR", "NOT"):
        return '"' + word.replace('"', "") + '"'
    return word


@st.composite
def searches(draw: Draw) -> str:
    """``$search`` text: terms and phrases with AND (or a space), OR, NOT and parentheses."""
    shape = draw(st.sampled_from(["{}", "{} {}", "{} OR {}", "NOT {}", "({} OR {}) AND {}"]))
    return shape.format(*(_search_term(draw) for _ in range(shape.count("{}"))))
