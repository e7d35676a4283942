"""The page-size policy: $top, the client's odata.maxpagesize, the default and the limit."""

from __future__ import annotations

import pytest

from flowruns.edm.capabilities import DEFAULT_PAGE_SIZE, MAX_TOP
from flowruns.odata.query import PageSize, page_size


@pytest.mark.parametrize(
    ("top", "preferred", "expected"),
    [
        (None, None, PageSize(DEFAULT_PAGE_SIZE, None)),
        (5, None, PageSize(5, None)),
        (0, None, PageSize(0, None)),
        (None, 3, PageSize(3, 3)),
        (1, 3, PageSize(1, 3)),  # $top is smaller: it is the page
        (5, 3, PageSize(3, 3)),  # the preference is smaller: pages of 3, nextLinks for more
        (None, MAX_TOP + 1, PageSize(MAX_TOP, MAX_TOP)),  # never past the limit
        (7, MAX_TOP + 1, PageSize(7, MAX_TOP)),
    ],
)
def test_page_size(top: int | None, preferred: int | None, expected: PageSize) -> None:
    assert page_size(top, preferred) == expected
