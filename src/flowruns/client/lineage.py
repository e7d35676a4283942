"""Naming the datasets a run reads and writes: :class:`DatasetRef`.

A recorded run declares its inputs and outputs (``record_run(…, inputs=[…], outputs=[…])``,
``run.input(…)``, ``run.output(…)``, ``client.runs.add_input(…)``); each is sent as
``POST runs/{id}/inputs`` or ``…/outputs``, which finds or creates the dataset. A plain string is
a dataset's name in the service's default namespace (``flowruns``): it is never split, since
OpenLineage namespaces such as ``postgres://db:5432`` hold slashes themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowruns.client.models import Dataset

#: The two directions of a dataset access, as the paths under a run name them.
INPUTS, OUTPUTS = "inputs", "outputs"


@dataclass(frozen=True)
class DatasetRef:
    """One dataset a run read or wrote, with what the run did to it.

    ``namespace`` None is the service's default namespace (``flowruns``); ``row_count``,
    ``byte_count`` and ``file_count`` are this run's statistics of the dataset, and ``facets``
    its per-run OpenLineage facets (``inputFacets``/``outputFacets``), all optional.
    """

    name: str
    namespace: str | None = None
    row_count: int | None = None
    byte_count: int | None = None
    file_count: int | None = None
    facets: Mapping[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a dataset needs a name")

    @classmethod
    def of(cls, dataset: DatasetRef | Dataset | str) -> DatasetRef:
        """``dataset`` as a :class:`DatasetRef`: a string is a name in the default namespace; a
        :class:`Dataset` read from the service is its namespace and name."""
        if isinstance(dataset, DatasetRef):
            return dataset
        if isinstance(dataset, Dataset):
            return cls(dataset.name or "", namespace=dataset.namespace)
        return cls(dataset)

    @property
    def key(self) -> tuple[str | None, str]:
        """What names the dataset: one run records a dataset once per direction."""
        return (self.namespace, self.name)

    def body(self) -> dict[str, Any]:
        """The body of ``POST runs/{id}/inputs|outputs``; members left unset are left out."""
        members: dict[str, Any] = {
            "namespace": self.namespace,
            "name": self.name,
            "rowCount": self.row_count,
            "byteCount": self.byte_count,
            "fileCount": self.file_count,
            "facets": dict(self.facets) if self.facets is not None else None,
        }
        return {name: value for name, value in members.items() if value is not None}


DatasetArg = DatasetRef | Dataset | str
