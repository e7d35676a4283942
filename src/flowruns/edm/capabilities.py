"""What the service offers of OData's query language, and its limits, declared once.

The query parser enforces these, ``$metadata`` announces them (the Capabilities annotations) and
the OpenAPI document describes them; each reads the declarations below, so the three cannot
disagree. A route of the route table says which :class:`QueryKind` of options it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from flowruns.edm.model import Primitive

# Paging: one page holds at most MAX_TOP entities; deeper pages are reached through nextLinks.
MAX_TOP = 999
MAX_SKIP = 10_000
DEFAULT_PAGE_SIZE = 100

# Common expressions ($filter, $orderby, $apply) and $search.
MAX_FILTER_NODES = 100
MAX_FILTER_DEPTH = 20
# any/all nested in one another. Each is a correlated subquery; SQLite's parser overflows its
# stack at eight, and three already reach from processes to runs to their statistics' entries.
MAX_LAMBDA_DEPTH = 3

# $expand: levels of nesting, and the members of an expanded collection when no $top is given.
MAX_EXPAND_DEPTH = 2
DEFAULT_EXPAND_TOP = 20

# JSON batching ($batch): requests in one batch, as in Microsoft Graph, and the formats offered.
MAX_BATCH_REQUESTS = 20
BATCH_FORMATS = ("application/json",)
BATCH_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class QueryOption:
    """A system query option the service supports.

    ``entity`` options also refine the read of a single entity; the others page, count, filter
    or aggregate collections only. ``documented`` options are in the OpenAPI document; ``$apply``
    is not, because its rows are not entities of the collection's schema.
    """

    name: str  # without the "$"
    description: str
    type: Primitive = Primitive.STRING
    maximum: int | None = None
    entity: bool = False
    documented: bool = True


QUERY_OPTIONS = (
    QueryOption("filter", "OData filter expression."),
    QueryOption("orderby", "Sort keys, each asc or desc."),
    QueryOption("top", "Page size.", Primitive.INT64, maximum=MAX_TOP),
    QueryOption("skip", "Rows to skip.", Primitive.INT64, maximum=MAX_SKIP),
    QueryOption("count", "Add @odata.count.", Primitive.BOOLEAN),
    QueryOption("select", "Properties to return.", entity=True),
    QueryOption("expand", "Navigations to include.", entity=True),
    QueryOption("search", 'Quoted text ("…") to find in displayName.'),
    QueryOption("apply", "Aggregation transformations.", documented=False),
    QueryOption("skiptoken", "The position a nextLink continues from.", documented=False),
    QueryOption(
        "deltatoken",
        "The state a deltaLink continues from; 'latest' starts at the current state.",
    ),
    QueryOption("format", "json (the only format).", entity=True, documented=False),
)
# Options OData defines that flowruns does not offer: asking for one is a 400, not ignored.
UNSUPPORTED_OPTIONS = ("compute", "index", "levels", "schemaversion")
# What delta() takes, as in Microsoft Graph: a delta round returns every change, so it is not
# ordered, cut, counted or expanded; $select and $filter are carried in its tokens.
_DELTA_OPTIONS = ("select", "filter", "skiptoken", "deltatoken", "format")


class QueryKind(Enum):
    """Which query options a route accepts."""

    NONE = "none"  # the query string is not read
    ENTITY = "entity"  # $select, $expand
    COLLECTION = "collection"  # every supported option but $deltatoken
    DELTA = "delta"  # $select, $filter and the tokens of delta()

    @property
    def options(self) -> tuple[QueryOption, ...]:
        return _ACCEPTED[self]

    def refusal(self, option: str) -> str:
        """Why a route of this kind refuses ``$option``, which the service supports elsewhere."""
        if self is QueryKind.DELTA:
            return (
                f"'${option}' is not supported with delta(): a delta round returns every "
                "change; $select and $filter are."
            )
        if option == "deltatoken":
            return "'$deltatoken' applies to delta() only."
        return f"'${option}' applies to collections, not to a single entity."


_ACCEPTED = {
    QueryKind.NONE: (),
    QueryKind.ENTITY: tuple(o for o in QUERY_OPTIONS if o.entity),
    QueryKind.COLLECTION: tuple(o for o in QUERY_OPTIONS if o.name != "deltatoken"),
    QueryKind.DELTA: tuple(o for o in QUERY_OPTIONS if o.name in _DELTA_OPTIONS),
}
