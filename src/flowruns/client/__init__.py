"""The flowruns Python SDK: read and write runs and processes, read datasets and their lineage,
and record a flow's runs.

::

    from flowruns.client import Client, F

    with Client() as client:  # FLOWRUNS_URL and FLOWRUNS_TOKEN
        for run in client.runs.list(filter=F.status == "failed", top=50):
            print(run.display_name, run.blocking_error)

See docs/sdk.md.
"""

from flowruns.client.async_recorder import AsyncRunRecorder
from flowruns.client.asynchronous import AsyncBatch, AsyncClient
from flowruns.client.batching import BatchItem
from flowruns.client.calls import DeltaPage, Page, Removed
from flowruns.client.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FailedDependencyError,
    FlowrunsClientError,
    ForeignLinkError,
    GraphAPIError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    ServerError,
    ServiceUnreachableError,
    TooManyRequestsError,
)
from flowruns.client.filters import F, Filter, OrderKey, Path
from flowruns.client.lineage import DatasetRef
from flowruns.client.models import (
    Dataset,
    DatasetAccess,
    DataShareOutgoingFlow,
    DataShareSharingState,
    Entity,
    IncomingFlowRun,
    IndustryDataHub,
    InsightsOutgoingFlow,
    OutgoingFlow,
    OutgoingFlowRun,
    Process,
    PublicError,
    PublicErrorDetail,
    PublicInnerError,
    ReadinessStatus,
    Run,
    RunGroup,
    RunStatistics,
    RunStatus,
)
from flowruns.client.recorder import RecorderOptions, RunRecorder, current_run
from flowruns.client.retrying import RetryPolicy
from flowruns.client.sync import Batch, Client

__all__ = [
    "AsyncBatch",
    "AsyncClient",
    "AsyncRunRecorder",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchItem",
    "Client",
    "ConflictError",
    "DataShareOutgoingFlow",
    "DataShareSharingState",
    "Dataset",
    "DatasetAccess",
    "DatasetRef",
    "DeltaPage",
    "Entity",
    "F",
    "FailedDependencyError",
    "Filter",
    "FlowrunsClientError",
    "ForeignLinkError",
    "GraphAPIError",
    "IncomingFlowRun",
    "IndustryDataHub",
    "InsightsOutgoingFlow",
    "NotFoundError",
    "OrderKey",
    "OutgoingFlow",
    "OutgoingFlowRun",
    "Page",
    "Path",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "Process",
    "PublicError",
    "PublicErrorDetail",
    "PublicInnerError",
    "ReadinessStatus",
    "RecorderOptions",
    "Removed",
    "RetryPolicy",
    "Run",
    "RunGroup",
    "RunRecorder",
    "RunStatistics",
    "RunStatus",
    "ServerError",
    "ServiceUnreachableError",
    "TooManyRequestsError",
    "current_run",
]
