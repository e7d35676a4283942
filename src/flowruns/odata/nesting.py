"""How deeply client text may nest, for every parser that descends into it.

Common expressions (``$filter``, ``$orderby``, ``$apply``), ``$search`` and JSON bodies are
read by parsers that go one level deeper for each parenthesis, ``not``, ``-``, bracket or brace.
Each checks this limit before it descends, so hostile nesting is a 400 naming where it is, never
Python's recursion limit. It lies well above anything an accepted request needs: an expression
nests at most :data:`~flowruns.edm.capabilities.MAX_FILTER_DEPTH` levels once parsed, statistics 8.
"""

from __future__ import annotations

MAX_NESTING = 64
