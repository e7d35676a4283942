"""The flowruns code a contender runs: this checkout, or another commit built beside it.

Every ``flowruns`` command the benchmark runs (seeding, schema upgrades, tokens, the server)
goes through a :class:`Build`, so that each contender's data is written and served by its own
code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Build:
    """How to run one version of flowruns."""

    label: str  # how the report names it
    sha: str | None  # None: this checkout, with whatever changes its working tree holds
    python: str  # the interpreter, whose environment holds the dependencies
    src: Path | None  # put first on PYTHONPATH; None: the flowruns this interpreter imports

    @property
    def suffix(self) -> str:
        """What tells this build's cached histories and working copies apart ('' for this
        checkout, so that its caches keep the names they had before baselines existed)."""
        return "" if self.sha is None else f"-{self.sha[:12]}"

    @property
    def env(self) -> dict[str, str]:
        """Environment entries a process running this build needs."""
        return {} if self.src is None else {"PYTHONPATH": str(self.src)}

    def command(self, *args: str | Path) -> list[str]:
        """The command line of ``flowruns *args`` with this build."""
        return [self.python, "-m", "flowruns", *map(str, args)]

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """Run ``flowruns *args`` with this build to the end (CalledProcessError if it fails)."""
        return subprocess.run(
            self.command(*args), env={**os.environ, **self.env}, text=True, check=True
        )

    def output(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """Like :meth:`run`, with the output captured."""
        return subprocess.run(
            self.command(*args),
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=True,
        )

    def schema_revisions(self) -> tuple[str, ...]:
        """The schema revisions this build knows, newest first; none before schema revisions."""
        completed = subprocess.run(
            [self.python, "-c", _REVISIONS],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=True,
        )
        revisions: list[str] = json.loads(completed.stdout)
        return tuple(revisions)


CURRENT = Build("HEAD", None, sys.executable, None)

# Run by the build's own interpreter: its revision scripts import its own flowruns modules.
_REVISIONS = """
import json
try:
    from alembic.script import ScriptDirectory
    from flowruns.store.migrations import config
except ImportError:  # a flowruns from before schema revisions
    print("[]")
else:
    print(json.dumps([s.revision for s in ScriptDirectory.from_config(config()).walk_revisions()]))
"""


def seeder(
    current: Build, current_schema: Sequence[str], baseline: Build, baseline_schema: Sequence[str]
) -> Build | None:
    """The build that seeds the one history both contenders copy.

    The history is made at the older schema, so that the newer build upgrades its copy with its
    own revisions (no build can open a schema newer than it knows); with equal schemas, this
    checkout seeds it. ``None`` when neither schema is an ancestor of the other: then each build
    seeds its own history. Schemas list revisions newest first (:meth:`Build.schema_revisions`).
    """
    if list(current_schema[:1]) == list(baseline_schema[:1]):
        return current
    if not baseline_schema or baseline_schema[0] in current_schema:
        return baseline
    if not current_schema or current_schema[0] in baseline_schema:
        return current
    return None
