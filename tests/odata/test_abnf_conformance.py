"""The OASIS OData ABNF test cases for the rules flowruns parses, run against its parsers.

Every positive case of ``$filter`` (``filter``, ``boolCommonExpr``, ``commonExpr`` and their
sub-rules), ``$orderby``, ``$select``, ``$expand``, ``$search`` and the literal rules must
parse, and every negative case must be refused, except the cases listed in ``EXCEPTIONS``
with the reason: grammar flowruns deliberately does not support, or places where it is more
lenient than the ABNF. The list is exact: a listed case that starts to conform fails the test
too, so the list (published in docs/api.md, "Grammar coverage") stays true.

Expressions go through the syntax parser only (:func:`flowruns.odata.syntax.parse_expression`,
:func:`~flowruns.odata.syntax.parse_order_items`); binding is model-specific and the cases use
another model. ``$select`` and ``$expand`` have no model-free parser, so they run against the
flowruns model and count as parsed when the only complaint is a name the model lacks.
Literal rules are a single literal token that converts to its value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
import yaml

from flowruns.edm.industrydata import MODEL, RUNS
from flowruns.errors import GraphError
from flowruns.odata import syntax
from flowruns.odata.binder import Binder
from flowruns.odata.lexer import Kind, tokenize
from flowruns.odata.query import parse_expand, parse_select
from flowruns.odata.search import parse_search
from tests.conftest import conformance_file

TESTCASES = conformance_file("odata-abnf/odata-abnf-testcases.yaml")


@dataclass(frozen=True)
class Case:
    name: str
    rule: str
    input: str
    valid: bool


def load_cases() -> list[Case]:
    # One input holds a raw tab, which PyYAML refuses in a plain scalar: carried through
    # a private-use character. BaseLoader keeps every value a string (no date guessing).
    text = TESTCASES.read_text(encoding="utf-8").replace("\t", "\ue000")
    document = yaml.load(text, Loader=yaml.BaseLoader)  # BaseLoader builds no objects
    return [
        Case(c["Name"], c["Rule"], c["Input"].replace("\ue000", "\t"), "FailAt" not in c)
        for c in document["TestCases"]
    ]


def _option_value(text: str, option: str) -> str:
    """The value of ``$option=value`` (the ``$`` optional, the name in any case), decoded."""
    name, equals, value = text.partition("=")
    if not equals or name.lower().removeprefix("$") != option:
        raise ValueError(f"not a ${option} option: {text}")
    return unquote(value)


def _expression(text: str) -> None:
    syntax.parse_expression(unquote(text), "$filter")


def _filter(text: str) -> None:
    syntax.parse_expression(_option_value(text, "filter"), "$filter")


def _lambda(text: str) -> None:
    # anyExpr/allExpr is what follows a collection path: give it one.
    syntax.parse_expression("c/" + unquote(text), "$filter")


def _orderby(text: str) -> None:
    syntax.parse_order_items(_option_value(text, "orderby"), "$orderby")


def _names_only(error: GraphError) -> bool:
    """Whether ``error`` only says a name is not in the flowruns model (the syntax was fine)."""
    return any(
        words in str(error)
        for words in ("is not a property", "is not a navigation property", "is not a derived")
    )


def _select(text: str) -> None:
    try:
        parse_select(_option_value(text, "select"), RUNS.type)
    except GraphError as error:
        if not _names_only(error):
            raise


def _expand(text: str) -> None:
    try:
        parse_expand(_option_value(text, "expand"), RUNS.type, now=0)
    except GraphError as error:
        if not _names_only(error):
            raise


def _search(text: str) -> None:
    parse_search(_option_value(text, "search"), RUNS.type)


def _search_expression(text: str) -> None:
    parse_search(unquote(text), RUNS.type)


def _literal(*kinds: Kind) -> Callable[[str], None]:
    """A check that ``text`` is one literal token of ``kinds`` whose value converts."""

    def check(text: str) -> None:
        tokens = tokenize(unquote(text), "$filter")
        token = tokens[0]
        if len(tokens) != 2 or token.kind not in kinds:
            raise ValueError(f"not one literal of {kinds}: {text}")
        if token.kind is Kind.IDENTIFIER and not token.is_word("true", "false", "null"):
            raise ValueError(f"not a literal: {text}")
        if token.kind is Kind.TYPED and not token.text.lower().startswith("duration'"):
            return  # an enumeration literal: its members belong to the model
        Binder(MODEL, RUNS.type, "$filter", now=0).literal(token, 0)

    return check


_NUMBERS = (Kind.INTEGER, Kind.DECIMAL)
_ANY_LITERAL = (*_NUMBERS, Kind.STRING, Kind.DATE, Kind.DATE_TIME, Kind.TIME, Kind.GUID)

CHECKS: dict[str, Callable[[str], None]] = {
    "filter": _filter,
    "boolCommonExpr": _expression,
    "boolcommonExpr": _expression,
    "commonExpr": _expression,
    "notExpr": _expression,
    "firstMemberExpr": _expression,
    "propertyPathExpr": _expression,
    "isofExpr": _expression,
    "anyExpr": _lambda,
    "orderby": _orderby,
    "orderBy": _orderby,
    "select": _select,
    "expand": _expand,
    "search": _search,
    "searchExpr": _search_expression,
    "boolean": _literal(Kind.IDENTIFIER),
    "primitiveLiteral": _literal(*_ANY_LITERAL, Kind.IDENTIFIER, Kind.TYPED),
    "stringLiteral": _literal(Kind.STRING),
    "stringInUrl": _literal(Kind.STRING),
    "date": _literal(Kind.DATE),
    "dateTimeOffsetLiteral": _literal(Kind.DATE_TIME),
    "dateTimeOffsetValueInUrl": _literal(Kind.DATE_TIME),
    "durationLiteral": _literal(Kind.TYPED),
    "guid": _literal(Kind.GUID),
    "enumLiteral": _literal(Kind.TYPED, Kind.STRING),
    "decimalLiteral": _literal(*_NUMBERS),
    "doubleLiteral": _literal(*_NUMBERS),
    "singleLiteral": _literal(*_NUMBERS),
    "sbyteLiteral": _literal(Kind.INTEGER),
    "int16Literal": _literal(Kind.INTEGER),
    "int32Literal": _literal(Kind.INTEGER),
    "int64Literal": _literal(Kind.INTEGER),
    "timeOfDayLiteral": _literal(Kind.TIME),
}

# Why flowruns answers some cases otherwise than the ABNF. Each reason is a deliberate limit
# of the supported subset (SPEC §5) or a place where the parser is more lenient than the
# grammar (the model binding then refuses what it cannot mean).
DATES = "dates are limited to the years 1-9999; year zero and negative years are refused"
DURATION_PREFIX = "a duration literal needs its prefix (duration'PT1H'); a bare string is a string"
TIME_OF_DAY = "no flowruns property is an Edm.TimeOfDay, so time-of-day literals are refused"
PATH_OPTIONS = "path segments with options ($count($filter=...), $filter(...)) are not supported"
SPACES = "lenient: spaces around an option's value are ignored"
FUNCTIONS = "bound and custom functions are not callable in expressions (the model has none)"
JSON = "JSON array and object literals (and double-quoted JSON strings) are not supported"
GEO = "geo functions and geography/geometry literals are not supported"
ANY_WITHOUT_PATH = "lenient syntax: any() without a path parses as a call; binding refuses it"
ANNOTATIONS = (
    "instance annotations in expressions (@Core.Messages, Price/@Currency) are not supported"
)
EXPAND_NAMES = (
    "not checkable with the flowruns model: navigations are resolved before nested options are "
    "read, and these name navigations flowruns lacks"
)
EXPAND_COUNT = "$count in $expand is not supported"
SEARCH_ADJACENT = "lenient: a phrase directly followed by a word reads as two terms"
QUALIFIED_PATH = (
    "lenient syntax: a qualified name parses as a type-cast segment; binding refuses it"
)
IN_EXPRESSIONS = "lenient: an in list may hold any expressions, not only literals"
EMPTY_IN = "an empty in list is refused"

EXCEPTIONS: dict[tuple[str, str], str] = {
    # DATES
    **dict.fromkeys(
        [
            ("date", "0000-01-01"),
            ("date", "-10000-04-01"),
        ],
        DATES,
    ),
    # DURATION_PREFIX
    **dict.fromkeys(
        [
            ("durationLiteral", "'P6DT23H59M59.9999S'"),
        ],
        DURATION_PREFIX,
    ),
    # TIME_OF_DAY
    **dict.fromkeys(
        [
            ("timeOfDayLiteral", "11%3A22%3a33"),
        ],
        TIME_OF_DAY,
    ),
    # PATH_OPTIONS
    **dict.fromkeys(
        [
            ("filter", "$filter=Products/$count($filter=Price gt 5.00) gt 2"),
            ("propertyPathExpr", "Products/$filter(Age gt 3)(ID='Sugar')"),
            ("filter", "$filter=Addresses/$filter(endswith(Street,'St'))/$count lt 10"),
        ],
        PATH_OPTIONS,
    ),
    # SPACES
    **dict.fromkeys(
        [
            ("filter", "$filter= true"),
        ],
        SPACES,
    ),
    # FUNCTIONS
    **dict.fromkeys(
        [
            ("firstMemberExpr", "Thumbnail/Model.Available()"),
            ("commonExpr", "Model.Available()"),
            ("commonExpr", "Model.MostPopularName()"),
            ("commonExpr", "Products/Model.Available()"),
            ("commonExpr", "Products/Model.BestProduct()/Model.MostPopularName()"),
            ("commonExpr", "Products/BestProduct()/MostPopularName()"),
            ("commonExpr", "Products/Model.BestProduct()/Name"),
            ("commonExpr", "Products/Model.BestProduct()/Model.BestSellingProduct/Name"),
            ("commonExpr", "Products/Model.BestProduct()/Name/Model.Available()"),
            ("commonExpr", "Products/Model.BestProduct()/Address"),
            ("commonExpr", "Products/Model.BestProduct()/Address/Street"),
            ("commonExpr", "Products/Model.BestProduct()/Addresses"),
            ("commonExpr", "Products/Model.BestProduct()/Addresses/Model.MostPopularName()"),
            ("commonExpr", "Products/Model.BestProduct()/EmailAddresses"),
            ("commonExpr", "Products/Model.BestProduct()/Thumbnail"),
            ("commonExpr", "Products/Model.BestProduct()/EmailAddresses/any()"),
            ("commonExpr", "Products/Model.BestProduct()/EmailAddresses/all(lambda:true)"),
            ("commonExpr", "Products/Model.ProductsByColor(color='green')/Model.MostPopularName()"),
            (
                "commonExpr",
                "Products/Model.ProductsByColor(color='green')/Model.BestSellingProduct/Model.MostPopularName()",
            ),
            ("commonExpr", "Products/Model.ProductsByColor()/all(lambda:true)"),
            ("commonExpr", "Items/Model.MostPopularAddress()/Street"),
            ("commonExpr", "Items/Model.MostPopularAddress()/Address"),
            ("commonExpr", "Items/Model.MostPopularAddress()/Address/Model.Available()"),
            ("commonExpr", "Items/Model.MostPopularAddresses()/$count"),
            ("commonExpr", "Items/Model.MostPopularAddresses()/Model.MostPopularName()"),
            ("commonExpr", "Items/Model.MostPopularNames()/$count"),
            ("commonExpr", "Items/Model.MostPopularNames()/Model.MostPopularName()"),
            ("commonExpr", "Items/MostPopularNames()/MostPopularName()"),
            ("commonExpr", "Items/Model.MostPopularName()/Model.MostPopularName()"),
            ("commonExpr", "Items/MostPopularName()/MostPopularName()"),
            ("commonExpr", "Model.PhoneticallySimilar(Word1=Name,Word2=Supplier/Name)"),
            (
                "commonExpr",
                'Model.Available(complex=%7B %22Name%22 : "double%20quote (%5C%22) in value" %7D)',
            ),
        ],
        FUNCTIONS,
    ),
    # JSON
    **dict.fromkeys(
        [
            (
                "filter",
                '$filter=Address eq {"Street":"NE 40th","City":"Redmond",'
                '"State":"WA","ZipCode":"98052"}',
            ),
            ("boolCommonExpr", 'Name in ["Milk", "Cheese"]'),
            ("boolCommonExpr", 'contains(Names,["Fred","George"])'),
            ("boolCommonExpr", 'endswith(["Fred","George","Ron"],["George","Ron"])'),
            ("commonExpr", 'indexof(["Fred","George","Ron"],["George","Ron"]) eq 1'),
            ("boolCommonExpr", 'length(["Fred","George","Ron"]) eq 3'),
            ("boolCommonExpr", 'startswith(["Fred","George","Ron"],["Fred","George"])'),
            ("boolCommonExpr", 'hassubset(Names,["Milk", "Cheese"])'),
            ("boolCommonExpr", 'hassubset(["Milk", "Cheese"],Names)'),
            ("boolCommonExpr", "hassubsequence([4,1,3],[4,3])"),
            ("commonExpr", 'FirstName in ["Miller","Smith"]'),
            ("commonExpr", "FirstName in [\"Miller\",'Smith']"),
            ("commonExpr", "FirstName in []"),
            ("boolCommonExpr", '["Joe","Smith"] in [["John","Doe"],["Jane","Smith"]]'),
            ("boolCommonExpr", '[FirstName,LastName] in [["John","Doe"],["Jane","Smith"]]'),
            ("boolCommonExpr", '["Milk", "Cheese"] eq ["Oranges", "Carrots", "Ginger"]'),
            ("commonExpr", "[\"Hello\",42,true,false,null,'World']"),
            ("commonExpr", "[FirstName,LastName]"),
            ("commonExpr", "{}"),
            ("commonExpr", '{"FirstName":"John","LastName":"Doe","Sizes":["Large","Small"]}'),
            (
                "commonExpr",
                '{"FirstName":Customer/FirstName,"LastName":Manager/LastName,"Sizes":[1, 2 add 3]}',
            ),
            (
                "commonExpr",
                '[[],{},true,false,null,42,{"no property name":"value","@something":true}]',
            ),
            ("commonExpr", 'Products/Model.ProductsByColor(colors=["red","green","blue"])'),
            ("commonExpr", 'Products/Model.ProductsByColor(colors=[ "red", "green" , "blue" ])'),
            (
                "commonExpr",
                'Products/Model.ProductsByColor(colors=%5B%20"red",%20"green"%20,"blue"%20%5D)',
            ),
            ("commonExpr", 'Model.Available(complex={"Name":"Value"})'),
            ("commonExpr", 'Model.Available(complex={ "Name" : "double quote (\\") in value" })'),
            ("stringInUrl", '"b%75g"'),
        ],
        JSON,
    ),
    # GEO
    **dict.fromkeys(
        [
            ("commonExpr", "geo.distance(Supplier/Location,Product/Location)"),
            ("boolCommonExpr", "geo.intersects(Supplier/SalesArea,Product/Location)"),
            ("commonExpr", "geo.length(Line)"),
            ("commonExpr", "geo.length(geography'SRID=0;LineString(142.1 64.1,3.14 2.78)')"),
            (
                "filter",
                "$filter=geo.intersects(geometry'SRID=0;Point(142.1 64.1)',"
                "geometry'SRID=0;Polygon((1 1,1 1),(1 1,2 2,3 3,1 1))')",
            ),
        ],
        GEO,
    ),
    # ANY_WITHOUT_PATH
    **dict.fromkeys(
        [
            ("boolCommonExpr", "any()"),
        ],
        ANY_WITHOUT_PATH,
    ),
    # ANNOTATIONS
    **dict.fromkeys(
        [
            ("filter", "$filter=Price/@Measures.Currency eq 'EUR'"),
            ("filter", "$filter=Price/@Currency eq 'EUR'"),
            ("orderBy", "$orderby=Price/@Measures.Currency"),
            ("orderBy", "$orderby=Price/@Measures.Currency%23Reporting"),
            ("filter", "$filter=Price/@Currency%23Reporting eq 'EUR'"),
            ("filter", "$filter=@Core.Messages/any(m:m/severity eq 'error')"),
            ("filter", "$filter=@Messages/any(m:m/severity eq 'error')"),
            (
                "commonExpr",
                "Products/Model.ProductsByColor(color=@color)/Model.BestSellingProduct/Model.MostPopularName()",
            ),
        ],
        ANNOTATIONS,
    ),
    # EXPAND_NAMES
    **dict.fromkeys(
        [
            ("expand", "$expand=Customer/$ref($levels=4)"),
            ("expand", "$expand=Customer/$ref($select=Name)"),
            ("expand", "$expand=Customer,Items/$ref($expand=Product)"),
            ("expand", "$expand=Category($levels=04)"),
        ],
        EXPAND_NAMES,
    ),
    # EXPAND_COUNT
    **dict.fromkeys(
        [
            ("expand", "$expand=Items/$count"),
            ("expand", "$expand=Items/$count($filter=Name eq 'Hugo')"),
            ("expand", "expand=Items/$count(filter=Name eq 'Hugo')"),
            ("expand", "$expand=Items/$count($search=Hugo)"),
            ("expand", "expand=Items/$count(search=Hugo)"),
        ],
        EXPAND_COUNT,
    ),
    # SEARCH_ADJACENT
    **dict.fromkeys(
        [
            ("searchExpr", '"blue%22green'),
        ],
        SEARCH_ADJACENT,
    ),
    # QUALIFIED_PATH
    **dict.fromkeys(
        [
            ("commonExpr", "Model.Available"),
        ],
        QUALIFIED_PATH,
    ),
    # IN_EXPRESSIONS
    **dict.fromkeys(
        [
            ("commonExpr", "FirstName in (FirstName,LastName)"),
        ],
        IN_EXPRESSIONS,
    ),
    # EMPTY_IN
    **dict.fromkeys(
        [
            ("commonExpr", "FirstName in ()"),
        ],
        EMPTY_IN,
    ),
}

CASES = [c for c in load_cases() if c.rule in CHECKS]


def parses(case: Case) -> bool:
    try:
        CHECKS[case.rule](case.input)
    except (GraphError, ValueError):
        return False
    return True


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}: {c.input}" for c in CASES])
def test_the_parser_accepts_what_the_grammar_accepts_and_refuses_the_rest(case: Case) -> None:
    conforms = parses(case) == case.valid
    reason = EXCEPTIONS.get((case.rule, case.input))
    if reason is None:
        expected = "accepted" if case.valid else "refused"
        assert conforms, f"{case.name}: '{case.input}' should be {expected} ({case.rule})"
    else:
        assert not conforms, f"'{case.input}' conforms now; remove it from EXCEPTIONS"


def test_every_exception_names_a_case_of_the_suite() -> None:
    known = {(c.rule, c.input) for c in CASES}
    assert set(EXCEPTIONS) <= known
