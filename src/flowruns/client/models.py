"""Typed models of every flowruns type, one dataclass per entity and complex type.

Generated from :mod:`flowruns.edm.industrydata` by ``python -m flowruns.client.codegen``; do not
edit by hand. Attribute names are the JSON names in snake_case (``displayName`` is
``display_name``); each field's metadata carries its JSON name and how to decode it (see
:mod:`flowruns.client.codec`). Members the model does not declare are kept in
``additional_data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

# Open complex types without declared members: free JSON objects.
RunStatistics = dict[str, Any]
OpenLineageFacets = dict[str, Any]
DatasetFacets = dict[str, Any]
DatasetAccessFacets = dict[str, Any]


class RunStatus(StrEnum):
    """``microsoft.graph.industryData.runStatus``.

    Values the model does not know read as ``UNKNOWN_FUTURE_VALUE``.
    """

    RUNNING = "running"
    FAILED = "failed"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completedWithErrors"
    COMPLETED_WITH_WARNINGS = "completedWithWarnings"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"


class ReadinessStatus(StrEnum):
    """``microsoft.graph.industryData.readinessStatus``.

    Values the model does not know read as ``UNKNOWN_FUTURE_VALUE``.
    """

    NOT_READY = "notReady"
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"
    EXPIRED = "expired"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"


class DataShareSharingState(StrEnum):
    """``microsoft.graph.industryData.dataShareSharingState``.

    Values the model does not know read as ``UNKNOWN_FUTURE_VALUE``.
    """

    PENDING = "pending"
    RUNNING = "running"
    PROBLEM = "problem"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"


class NotificationFormat(StrEnum):
    """``flowruns.notificationFormat``."""

    GRAPH = "graph"
    CLOUD_EVENTS = "cloudEvents"
    SLACK = "slack"
    TEAMS = "teams"


class HealthState(StrEnum):
    """``flowruns.healthState``.

    Values the model does not know read as ``UNKNOWN_FUTURE_VALUE``.
    """

    HEALTHY = "healthy"
    UNKNOWN = "unknown"
    SLOW = "slow"
    RULE_BROKEN = "ruleBroken"
    LATE = "late"
    OVERDUE = "overdue"
    FAILING = "failing"
    MISSED = "missed"
    PAUSED = "paused"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"


class IncidentKind(StrEnum):
    """``flowruns.incidentKind``.

    Values the model does not know read as ``UNKNOWN_FUTURE_VALUE``.
    """

    SLOW = "slow"
    RULE_BROKEN = "ruleBroken"
    LATE = "late"
    OVERDUE = "overdue"
    FAILING = "failing"
    MISSED = "missed"
    STALE = "stale"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"


class FreshnessState(StrEnum):
    """``flowruns.freshnessState``.

    Values the model does not know read as ``UNKNOWN_FUTURE_VALUE``.
    """

    FRESH = "fresh"
    UNKNOWN = "unknown"
    STALE = "stale"
    PAUSED = "paused"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"


class DatasetAccessDirection(StrEnum):
    """``flowruns.datasetAccessDirection``."""

    INPUT = "input"
    OUTPUT = "output"


@dataclass(kw_only=True)
class PublicErrorDetail:
    """The ``microsoft.graph.publicErrorDetail`` complex type."""

    odata_type: ClassVar[str] = "#microsoft.graph.publicErrorDetail"
    code: str | None = field(default=None, metadata={"json": "code", "kind": "value"})
    message: str | None = field(default=None, metadata={"json": "message", "kind": "value"})
    target: str | None = field(default=None, metadata={"json": "target", "kind": "value"})
    additional_data: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(kw_only=True)
class PublicInnerError:
    """The ``microsoft.graph.publicInnerError`` complex type."""

    odata_type: ClassVar[str] = "#microsoft.graph.publicInnerError"
    code: str | None = field(default=None, metadata={"json": "code", "kind": "value"})
    message: str | None = field(default=None, metadata={"json": "message", "kind": "value"})
    target: str | None = field(default=None, metadata={"json": "target", "kind": "value"})
    details: list[PublicErrorDetail] | None = field(
        default=None, metadata={"json": "details", "kind": "list:complex:PublicErrorDetail"}
    )
    additional_data: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(kw_only=True)
class PublicError:
    """The ``microsoft.graph.publicError`` complex type."""

    odata_type: ClassVar[str] = "#microsoft.graph.publicError"
    code: str | None = field(default=None, metadata={"json": "code", "kind": "value"})
    message: str | None = field(default=None, metadata={"json": "message", "kind": "value"})
    target: str | None = field(default=None, metadata={"json": "target", "kind": "value"})
    details: list[PublicErrorDetail] | None = field(
        default=None, metadata={"json": "details", "kind": "list:complex:PublicErrorDetail"}
    )
    inner_error: PublicInnerError | None = field(
        default=None, metadata={"json": "innerError", "kind": "complex:PublicInnerError"}
    )
    additional_data: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(kw_only=True)
class Entity:
    """The ``microsoft.graph.entity`` type.

    Abstract: instances are always of a derived type.
    """

    odata_type: ClassVar[str] = "#microsoft.graph.entity"
    abstract: ClassVar[bool] = True
    id: str | None = field(default=None, metadata={"json": "id", "kind": "value"})
    etag: str | None = field(default=None, metadata={"json": "@odata.etag", "kind": "value"})
    additional_data: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(kw_only=True)
class External(Entity):
    """The ``microsoft.graph.externalConnectors.external`` type."""

    odata_type: ClassVar[str] = "#microsoft.graph.externalConnectors.external"
    abstract: ClassVar[bool] = False
    industry_data: IndustryDataHub | None = field(
        default=None, metadata={"json": "industryData", "kind": "entity:IndustryDataHub"}
    )


@dataclass(kw_only=True)
class MutableEntity(Entity):
    """The ``microsoft.graph.industryData.mutableEntity`` type.

    Abstract: instances are always of a derived type.
    """

    odata_type: ClassVar[str] = "#microsoft.graph.industryData.mutableEntity"
    abstract: ClassVar[bool] = True
    e_tag: str | None = field(default=None, metadata={"json": "eTag", "kind": "value"})


@dataclass(kw_only=True)
class Run(Entity):
    """One execution of a data flow.

    Abstract: instances are always of a derived type.
    """

    odata_type: ClassVar[str] = "#microsoft.graph.industryData.run"
    abstract: ClassVar[bool] = True
    display_name: str | None = field(
        default=None, metadata={"json": "displayName", "kind": "value"}
    )
    start_date_time: datetime | None = field(
        default=None, metadata={"json": "startDateTime", "kind": "datetime"}
    )
    end_date_time: datetime | None = field(
        default=None, metadata={"json": "endDateTime", "kind": "datetime"}
    )
    status: RunStatus | None = field(
        default=None, metadata={"json": "status", "kind": "enum:RunStatus"}
    )
    blocking_error: PublicError | None = field(
        default=None, metadata={"json": "blockingError", "kind": "complex:PublicError"}
    )
    statistics: RunStatistics | None = field(
        default=None, metadata={"json": "statistics", "kind": "value"}
    )
    process: Process | None = field(
        default=None, metadata={"json": "process", "kind": "entity:Process"}
    )
    inputs: list[DatasetAccess] | None = field(
        default=None, metadata={"json": "inputs", "kind": "entities:DatasetAccess"}
    )
    outputs: list[DatasetAccess] | None = field(
        default=None, metadata={"json": "outputs", "kind": "entities:DatasetAccess"}
    )


@dataclass(kw_only=True)
class OutgoingFlowRun(Run):
    """The ``microsoft.graph.industryData.outgoingFlowRun`` type."""

    odata_type: ClassVar[str] = "#microsoft.graph.industryData.outgoingFlowRun"
    abstract: ClassVar[bool] = False


@dataclass(kw_only=True)
class IncomingFlowRun(Run):
    """The ``microsoft.graph.industryData.incomingFlowRun`` type."""

    odata_type: ClassVar[str] = "#microsoft.graph.industryData.incomingFlowRun"
    abstract: ClassVar[bool] = False


@dataclass(kw_only=True)
class RunGroup(Run):
    """A run made of runs."""

    odata_type: ClassVar[str] = "#microsoft.graph.industryData.runGroup"
    abstract: ClassVar[bool] = False
    runs: list[Run] | None = field(default=None, metadata={"json": "runs", "kind": "entities:Run"})


@dataclass(kw_only=True)
class Process(MutableEntity):
    """A data flow whose executions are runs.

    Abstract: instances are always of a derived type.
    """

    odata_type: ClassVar[str] = "#microsoft.graph.industryData.process"
    abstract: ClassVar[bool] = True
    display_name: str | None = field(
        default=None, metadata={"json": "displayName", "kind": "value"}
    )
    readiness_status: ReadinessStatus | None = field(
        default=None, metadata={"json": "readinessStatus", "kind": "enum:ReadinessStatus"}
    )
    runs: list[Run] | None = field(default=None, metadata={"json": "runs", "kind": "entities:Run"})
    expectation: Expectation | None = field(
        default=None, metadata={"json": "expectation", "kind": "entity:Expectation"}
    )
    health: ProcessHealth | None = field(
        default=None, metadata={"json": "health", "kind": "entity:ProcessHealth"}
    )
    incidents: list[Incident] | None = field(
        default=None, metadata={"json": "incidents", "kind": "entities:Incident"}
    )


@dataclass(kw_only=True)
class OutgoingFlow(Process):
    """The ``microsoft.graph.industryData.outgoingFlow`` type.

    Abstract: instances are always of a derived type.
    """

    odata_type: ClassVar[str] = "#microsoft.graph.industryData.outgoingFlow"
    abstract: ClassVar[bool] = True


@dataclass(kw_only=True)
class DataShareOutgoingFlow(OutgoingFlow):
    """The ``microsoft.graph.industryData.dataShareOutgoingFlow`` type."""

    odata_type: ClassVar[str] = "#microsoft.graph.industryData.dataShareOutgoingFlow"
    abstract: ClassVar[bool] = False
    share_name: str | None = field(default=None, metadata={"json": "shareName", "kind": "value"})
    invitee_user_ids: list[str] | None = field(
        default=None, metadata={"json": "inviteeUserIds", "kind": "list:value"}
    )
    sharing_state: DataShareSharingState | None = field(
        default=None, metadata={"json": "sharingState", "kind": "enum:DataShareSharingState"}
    )


@dataclass(kw_only=True)
class InsightsOutgoingFlow(OutgoingFlow):
    """The ``microsoft.graph.industryData.insightsOutgoingFlow`` type."""

    odata_type: ClassVar[str] = "#microsoft.graph.industryData.insightsOutgoingFlow"
    abstract: ClassVar[bool] = False


@dataclass(kw_only=True)
class OpenLineageJob(Process):
    """A job whose runs are recorded from its OpenLineage run events."""

    odata_type: ClassVar[str] = "#flowruns.openLineageJob"
    abstract: ClassVar[bool] = False
    job_namespace: str | None = field(
        default=None, metadata={"json": "jobNamespace", "kind": "value"}
    )
    job_name: str | None = field(default=None, metadata={"json": "jobName", "kind": "value"})


@dataclass(kw_only=True)
class Expectation(Entity):
    """What a process is expected to do; every member is optional."""

    odata_type: ClassVar[str] = "#flowruns.expectation"
    abstract: ClassVar[bool] = False
    schedule: str | None = field(default=None, metadata={"json": "schedule", "kind": "value"})
    time_zone: str | None = field(default=None, metadata={"json": "timeZone", "kind": "value"})
    grace: str | None = field(default=None, metadata={"json": "grace", "kind": "value"})
    max_duration: str | None = field(
        default=None, metadata={"json": "maxDuration", "kind": "value"}
    )
    duration_anomaly: float | None = field(
        default=None, metadata={"json": "durationAnomaly", "kind": "value"}
    )
    success_rule: str | None = field(
        default=None, metadata={"json": "successRule", "kind": "value"}
    )
    failure_streak: int | None = field(
        default=None, metadata={"json": "failureStreak", "kind": "value"}
    )
    paused: bool | None = field(default=None, metadata={"json": "paused", "kind": "value"})
    paused_until: datetime | None = field(
        default=None, metadata={"json": "pausedUntil", "kind": "datetime"}
    )
    owner: str | None = field(default=None, metadata={"json": "owner", "kind": "value"})
    tags: list[str] | None = field(default=None, metadata={"json": "tags", "kind": "list:value"})
    last_modified_date_time: datetime | None = field(
        default=None, metadata={"json": "lastModifiedDateTime", "kind": "datetime"}
    )


@dataclass(kw_only=True)
class ProcessHealth(Entity):
    """Whether a process meets its expectation, as the server last evaluated it."""

    odata_type: ClassVar[str] = "#flowruns.processHealth"
    abstract: ClassVar[bool] = False
    state: HealthState | None = field(
        default=None, metadata={"json": "state", "kind": "enum:HealthState"}
    )
    changed_date_time: datetime | None = field(
        default=None, metadata={"json": "changedDateTime", "kind": "datetime"}
    )
    next_expected_date_time: datetime | None = field(
        default=None, metadata={"json": "nextExpectedDateTime", "kind": "datetime"}
    )
    recent_expected_date_times: list[datetime] | None = field(
        default=None, metadata={"json": "recentExpectedDateTimes", "kind": "list:datetime"}
    )


@dataclass(kw_only=True)
class Incident(Entity):
    """A departure of a process from its expectation, or of a dataset from its freshness
    expectation, open until its condition clears."""

    odata_type: ClassVar[str] = "#flowruns.incident"
    abstract: ClassVar[bool] = False
    kind: IncidentKind | None = field(
        default=None, metadata={"json": "kind", "kind": "enum:IncidentKind"}
    )
    dataset_id: str | None = field(default=None, metadata={"json": "datasetId", "kind": "value"})
    run_id: str | None = field(default=None, metadata={"json": "runId", "kind": "value"})
    opened_date_time: datetime | None = field(
        default=None, metadata={"json": "openedDateTime", "kind": "datetime"}
    )
    resolved_date_time: datetime | None = field(
        default=None, metadata={"json": "resolvedDateTime", "kind": "datetime"}
    )
    expected_date_time: datetime | None = field(
        default=None, metadata={"json": "expectedDateTime", "kind": "datetime"}
    )
    occurrences: int | None = field(default=None, metadata={"json": "occurrences", "kind": "value"})
    message: str | None = field(default=None, metadata={"json": "message", "kind": "value"})
    process: Process | None = field(
        default=None, metadata={"json": "process", "kind": "entity:Process"}
    )
    dataset: Dataset | None = field(
        default=None, metadata={"json": "dataset", "kind": "entity:Dataset"}
    )


@dataclass(kw_only=True)
class Dataset(Entity):
    """A dataset runs read or write, known by its namespace and name."""

    odata_type: ClassVar[str] = "#flowruns.dataset"
    abstract: ClassVar[bool] = False
    namespace: str | None = field(default=None, metadata={"json": "namespace", "kind": "value"})
    name: str | None = field(default=None, metadata={"json": "name", "kind": "value"})
    facets: DatasetFacets | None = field(default=None, metadata={"json": "facets", "kind": "value"})
    created_date_time: datetime | None = field(
        default=None, metadata={"json": "createdDateTime", "kind": "datetime"}
    )
    last_modified_date_time: datetime | None = field(
        default=None, metadata={"json": "lastModifiedDateTime", "kind": "datetime"}
    )
    last_written_date_time: datetime | None = field(
        default=None, metadata={"json": "lastWrittenDateTime", "kind": "datetime"}
    )
    last_written_run_id: str | None = field(
        default=None, metadata={"json": "lastWrittenRunId", "kind": "value"}
    )
    writes: list[DatasetAccess] | None = field(
        default=None, metadata={"json": "writes", "kind": "entities:DatasetAccess"}
    )
    reads: list[DatasetAccess] | None = field(
        default=None, metadata={"json": "reads", "kind": "entities:DatasetAccess"}
    )
    expectation: FreshnessExpectation | None = field(
        default=None, metadata={"json": "expectation", "kind": "entity:FreshnessExpectation"}
    )
    incidents: list[Incident] | None = field(
        default=None, metadata={"json": "incidents", "kind": "entities:Incident"}
    )


@dataclass(kw_only=True)
class DatasetAccess(Entity):
    """One run reading or writing one dataset."""

    odata_type: ClassVar[str] = "#flowruns.datasetAccess"
    abstract: ClassVar[bool] = False
    direction: DatasetAccessDirection | None = field(
        default=None, metadata={"json": "direction", "kind": "enum:DatasetAccessDirection"}
    )
    dataset_id: str | None = field(default=None, metadata={"json": "datasetId", "kind": "value"})
    namespace: str | None = field(default=None, metadata={"json": "namespace", "kind": "value"})
    name: str | None = field(default=None, metadata={"json": "name", "kind": "value"})
    run_id: str | None = field(default=None, metadata={"json": "runId", "kind": "value"})
    run_status: RunStatus | None = field(
        default=None, metadata={"json": "runStatus", "kind": "enum:RunStatus"}
    )
    run_start_date_time: datetime | None = field(
        default=None, metadata={"json": "runStartDateTime", "kind": "datetime"}
    )
    run_end_date_time: datetime | None = field(
        default=None, metadata={"json": "runEndDateTime", "kind": "datetime"}
    )
    row_count: int | None = field(default=None, metadata={"json": "rowCount", "kind": "value"})
    byte_count: int | None = field(default=None, metadata={"json": "byteCount", "kind": "value"})
    file_count: int | None = field(default=None, metadata={"json": "fileCount", "kind": "value"})
    facets: DatasetAccessFacets | None = field(
        default=None, metadata={"json": "facets", "kind": "value"}
    )
    run: Run | None = field(default=None, metadata={"json": "run", "kind": "entity:Run"})
    dataset: Dataset | None = field(
        default=None, metadata={"json": "dataset", "kind": "entity:Dataset"}
    )


@dataclass(kw_only=True)
class FreshnessExpectation(Entity):
    """How often a dataset is expected to be written successfully, and whether it is."""

    odata_type: ClassVar[str] = "#flowruns.freshnessExpectation"
    abstract: ClassVar[bool] = False
    written_every: str | None = field(
        default=None, metadata={"json": "writtenEvery", "kind": "value"}
    )
    paused: bool | None = field(default=None, metadata={"json": "paused", "kind": "value"})
    paused_until: datetime | None = field(
        default=None, metadata={"json": "pausedUntil", "kind": "datetime"}
    )
    owner: str | None = field(default=None, metadata={"json": "owner", "kind": "value"})
    tags: list[str] | None = field(default=None, metadata={"json": "tags", "kind": "list:value"})
    last_modified_date_time: datetime | None = field(
        default=None, metadata={"json": "lastModifiedDateTime", "kind": "datetime"}
    )
    state: FreshnessState | None = field(
        default=None, metadata={"json": "state", "kind": "enum:FreshnessState"}
    )
    changed_date_time: datetime | None = field(
        default=None, metadata={"json": "changedDateTime", "kind": "datetime"}
    )
    write_due_date_time: datetime | None = field(
        default=None, metadata={"json": "writeDueDateTime", "kind": "datetime"}
    )


@dataclass(kw_only=True)
class IndustryDataHub(MutableEntity):
    """The root of the industry data API: the tenant's runs, processes and run groups."""

    odata_type: ClassVar[str] = "#microsoft.graph.industryData.industryDataHub"
    abstract: ClassVar[bool] = False
    runs: list[Run] | None = field(default=None, metadata={"json": "runs", "kind": "entities:Run"})
    processes: list[Process] | None = field(
        default=None, metadata={"json": "processes", "kind": "entities:Process"}
    )
    run_groups: list[RunGroup] | None = field(
        default=None, metadata={"json": "runGroups", "kind": "entities:RunGroup"}
    )
    incidents: list[Incident] | None = field(
        default=None, metadata={"json": "incidents", "kind": "entities:Incident"}
    )
    datasets: list[Dataset] | None = field(
        default=None, metadata={"json": "datasets", "kind": "entities:Dataset"}
    )


@dataclass(kw_only=True)
class Subscription(Entity):
    """A webhook subscription to changes of a collection (change notifications)."""

    odata_type: ClassVar[str] = "#microsoft.graph.subscription"
    abstract: ClassVar[bool] = False
    application_id: str | None = field(
        default=None, metadata={"json": "applicationId", "kind": "value"}
    )
    change_type: str | None = field(default=None, metadata={"json": "changeType", "kind": "value"})
    client_state: str | None = field(
        default=None, metadata={"json": "clientState", "kind": "value"}
    )
    creator_id: str | None = field(default=None, metadata={"json": "creatorId", "kind": "value"})
    encryption_certificate: str | None = field(
        default=None, metadata={"json": "encryptionCertificate", "kind": "value"}
    )
    encryption_certificate_id: str | None = field(
        default=None, metadata={"json": "encryptionCertificateId", "kind": "value"}
    )
    expiration_date_time: datetime | None = field(
        default=None, metadata={"json": "expirationDateTime", "kind": "datetime"}
    )
    include_resource_data: bool | None = field(
        default=None, metadata={"json": "includeResourceData", "kind": "value"}
    )
    latest_supported_tls_version: str | None = field(
        default=None, metadata={"json": "latestSupportedTlsVersion", "kind": "value"}
    )
    lifecycle_notification_url: str | None = field(
        default=None, metadata={"json": "lifecycleNotificationUrl", "kind": "value"}
    )
    notification_content_type: str | None = field(
        default=None, metadata={"json": "notificationContentType", "kind": "value"}
    )
    notification_query_options: str | None = field(
        default=None, metadata={"json": "notificationQueryOptions", "kind": "value"}
    )
    notification_url: str | None = field(
        default=None, metadata={"json": "notificationUrl", "kind": "value"}
    )
    notification_url_app_id: str | None = field(
        default=None, metadata={"json": "notificationUrlAppId", "kind": "value"}
    )
    resource: str | None = field(default=None, metadata={"json": "resource", "kind": "value"})


# Every entity type by qualified name, for decoding by ``@odata.type``.
ENTITY_TYPES: dict[str, type[Entity]] = {
    Entity.odata_type[1:]: Entity,
    External.odata_type[1:]: External,
    MutableEntity.odata_type[1:]: MutableEntity,
    Run.odata_type[1:]: Run,
    OutgoingFlowRun.odata_type[1:]: OutgoingFlowRun,
    IncomingFlowRun.odata_type[1:]: IncomingFlowRun,
    RunGroup.odata_type[1:]: RunGroup,
    Process.odata_type[1:]: Process,
    OutgoingFlow.odata_type[1:]: OutgoingFlow,
    DataShareOutgoingFlow.odata_type[1:]: DataShareOutgoingFlow,
    InsightsOutgoingFlow.odata_type[1:]: InsightsOutgoingFlow,
    OpenLineageJob.odata_type[1:]: OpenLineageJob,
    Expectation.odata_type[1:]: Expectation,
    ProcessHealth.odata_type[1:]: ProcessHealth,
    Incident.odata_type[1:]: Incident,
    Dataset.odata_type[1:]: Dataset,
    DatasetAccess.odata_type[1:]: DatasetAccess,
    FreshnessExpectation.odata_type[1:]: FreshnessExpectation,
    IndustryDataHub.odata_type[1:]: IndustryDataHub,
    Subscription.odata_type[1:]: Subscription,
}
# Types a field's ``kind`` names, by class name.
TYPES: dict[str, type[Any]] = {
    "RunStatus": RunStatus,
    "ReadinessStatus": ReadinessStatus,
    "DataShareSharingState": DataShareSharingState,
    "NotificationFormat": NotificationFormat,
    "HealthState": HealthState,
    "IncidentKind": IncidentKind,
    "FreshnessState": FreshnessState,
    "DatasetAccessDirection": DatasetAccessDirection,
    "PublicErrorDetail": PublicErrorDetail,
    "PublicInnerError": PublicInnerError,
    "PublicError": PublicError,
    "Entity": Entity,
    "External": External,
    "MutableEntity": MutableEntity,
    "Run": Run,
    "OutgoingFlowRun": OutgoingFlowRun,
    "IncomingFlowRun": IncomingFlowRun,
    "RunGroup": RunGroup,
    "Process": Process,
    "OutgoingFlow": OutgoingFlow,
    "DataShareOutgoingFlow": DataShareOutgoingFlow,
    "InsightsOutgoingFlow": InsightsOutgoingFlow,
    "OpenLineageJob": OpenLineageJob,
    "Expectation": Expectation,
    "ProcessHealth": ProcessHealth,
    "Incident": Incident,
    "Dataset": Dataset,
    "DatasetAccess": DatasetAccess,
    "FreshnessExpectation": FreshnessExpectation,
    "IndustryDataHub": IndustryDataHub,
    "Subscription": Subscription,
}
