"""The flowruns model, declared once.

Everything else — request validation, JSON, storage columns, ``$metadata`` — is derived from
the declarations below. Adding a run or process type is a few lines here: an ``EntityType``
with the right base, and (for a process) its entry in ``RUN_TYPE_OF_PROCESS``.
"""

from __future__ import annotations

from flowruns.edm.model import (
    ComplexType,
    EntitySetBinding,
    EntityType,
    EnumType,
    Function,
    GraphOnly,
    Model,
    NavigationProperty,
    Primitive,
    Property,
    Term,
)

GRAPH = "microsoft.graph"
EXTERNAL = "microsoft.graph.externalConnectors"
NS = "microsoft.graph.industryData"
# flowruns' own namespace: what flowruns adds to Graph's model lives here, so Graph's own types
# keep exactly their Graph members.
FLOWRUNS = "flowruns"

run_status = EnumType(
    NS,
    "runStatus",
    (
        "running",
        "failed",
        "completed",
        "completedWithErrors",
        "completedWithWarnings",
        "unknownFutureValue",
    ),
)
readiness_status = EnumType(
    NS,
    "readinessStatus",
    ("notReady", "ready", "failed", "deleted", "expired", "unknownFutureValue"),
)
data_share_sharing_state = EnumType(
    NS, "dataShareSharingState", ("pending", "running", "problem", "unknownFutureValue")
)

_error_text = (
    Property("code", Primitive.STRING, max_length=256),
    Property("message", Primitive.STRING, max_length=4096),
    Property("target", Primitive.STRING, max_length=256),
)


def _display_name(description: str) -> Property:
    return Property(
        "displayName",
        Primitive.STRING,
        nullable=False,
        required=True,
        min_length=1,
        max_length=256,
        description=description,
    )


public_error_detail = ComplexType(GRAPH, "publicErrorDetail", _error_text)
public_inner_error = ComplexType(
    GRAPH,
    "publicInnerError",
    (*_error_text, Property("details", public_error_detail, collection=True)),
)
public_error = ComplexType(
    GRAPH,
    "publicError",
    (
        *_error_text,
        Property("details", public_error_detail, collection=True),
        Property("innerError", public_inner_error),
    ),
)
run_statistics = ComplexType(NS, "runStatistics", (), open=True)
# The statistics convention the server enforces and the SDK's recorder keeps to: these
# members of runStatistics are arrays of at most this many entries, newest last.
STATISTICS_PROBLEM_LISTS = ("errors", "warnings")
STATISTICS_MAX_PROBLEMS = 20

entity = EntityType(
    GRAPH,
    "entity",
    abstract=True,
    own_properties=(
        Property(
            "id",
            Primitive.STRING,
            nullable=False,
            read_only=True,
            key=True,
            description="The unique identifier, a GUID assigned by the server.",
        ),
    ),
)
external = EntityType(
    EXTERNAL,
    "external",
    base_name="microsoft.graph.entity",
    read_only=True,
    own_navigations=(
        NavigationProperty(
            "industryData",
            f"{NS}.industryDataHub",
            collection=False,
            contains_target=True,
            nullable=False,
            description="The industry data hub of the tenant.",
        ),
    ),
)
mutable_entity = EntityType(
    NS,
    "mutableEntity",
    base_name="microsoft.graph.entity",
    abstract=True,
    own_properties=(
        Property(
            "eTag",
            Primitive.STRING,
            read_only=True,
            etag=True,
            description="The entity's current version; changes on every write.",
        ),
    ),
)
# Delta query (change tracking), bound to a collection as Microsoft Graph declares it, in its
# own namespace: `runs/delta()`, `runs/microsoft.graph.delta()`, `runs/delta`.
DELTA = Function("delta", collection=True, namespace=GRAPH)

run = EntityType(
    NS,
    "run",
    base_name="microsoft.graph.entity",
    abstract=True,
    description="One execution of a data flow.",
    own_properties=(
        _display_name("The name of the run."),
        Property(
            "startDateTime",
            Primitive.DATE_TIME_OFFSET,
            nullable=False,
            description="When the run started.",
        ),
        Property(
            "endDateTime",
            Primitive.DATE_TIME_OFFSET,
            description="When the run finished, or null while it is running.",
        ),
        Property("status", run_status, nullable=False, description="Current status of the run."),
        Property(
            "blockingError",
            public_error,
            description="The error that stopped the run; only when the status is failed.",
        ),
        Property(
            "statistics",
            run_statistics,
            nullable=False,
            description="The weakly-typed statistics log from the run.",
        ),
    ),
    own_navigations=(
        NavigationProperty(
            "process",
            f"{NS}.process",
            collection=False,
            partner="runs",
            description="The process of the run.",
        ),
        NavigationProperty(
            "inputs",
            f"{FLOWRUNS}.datasetAccess",
            collection=True,
            contains_target=True,
            description="The datasets the run read, one access each (needs the Run permission).",
        ),
        NavigationProperty(
            "outputs",
            f"{FLOWRUNS}.datasetAccess",
            collection=True,
            contains_target=True,
            description="The datasets the run wrote, one access each (needs the Run permission).",
        ),
    ),
    # Graph's industryDataRun: the activities of a system-scheduled run, its statistics, and the
    # action that starts one on demand. flowruns records runs that flows make themselves.
    graph_only=(
        GraphOnly("activities", "navigation"),
        GraphOnly("getStatistics", "function"),
        GraphOnly("start", "action", on_collection=True),
    ),
    functions=(DELTA,),
)
outgoing_flow_run = EntityType(NS, "outgoingFlowRun", base_name=f"{NS}.run")
incoming_flow_run = EntityType(NS, "incomingFlowRun", base_name=f"{NS}.run")
run_group = EntityType(
    NS,
    "runGroup",
    base_name=f"{NS}.run",
    description="A run made of runs.",
    own_navigations=(
        NavigationProperty(
            "runs",
            f"{NS}.run",
            collection=True,
            insertable=False,
            insert_note="Add an existing run with POST runGroups/{id}/runs/$ref.",
            description="The member runs.",
        ),
    ),
    functions=(Function("getErrorsAndWarningsFile", Primitive.STRING),),
)
process = EntityType(
    NS,
    "process",
    base_name=f"{NS}.mutableEntity",
    abstract=True,
    description="A data flow whose executions are runs.",
    own_properties=(
        _display_name("The name of the process."),
        Property(
            "readinessStatus",
            readiness_status,
            description="Whether the process is ready to run.",
        ),
    ),
    own_navigations=(
        NavigationProperty(
            "runs",
            f"{NS}.run",
            collection=True,
            read_only=True,
            partner="process",
            description="The runs of the process, newest first.",
        ),
        NavigationProperty(
            "expectation",
            f"{FLOWRUNS}.expectation",
            collection=False,
            contains_target=True,
            description="What the process is expected to do: schedule, deadlines, success rule.",
        ),
        NavigationProperty(
            "health",
            f"{FLOWRUNS}.processHealth",
            collection=False,
            contains_target=True,
            read_only=True,
            description="Whether the process meets its expectation (needs the Run permission).",
        ),
        NavigationProperty(
            "incidents",
            f"{FLOWRUNS}.incident",
            collection=True,
            read_only=True,
            insertable=False,
            insert_note="Incidents are opened and resolved by the server's evaluation.",
            partner="process",
            description="The incidents of the process, newest first (needs the Run permission).",
        ),
    ),
    functions=(DELTA,),
)
outgoing_flow = EntityType(NS, "outgoingFlow", base_name=f"{NS}.process", abstract=True)
data_share_outgoing_flow = EntityType(
    NS,
    "dataShareOutgoingFlow",
    base_name=f"{NS}.outgoingFlow",
    own_properties=(
        Property("shareName", Primitive.STRING, max_length=256),
        Property("inviteeUserIds", Primitive.STRING, collection=True, max_length=256),
        Property("sharingState", data_share_sharing_state),
    ),
)
insights_outgoing_flow = EntityType(NS, "insightsOutgoingFlow", base_name=f"{NS}.outgoingFlow")
# A job that reports its runs as OpenLineage run events (POST /api/v1/lineage): a process like
# any other to Graph clients, found again by the job's (namespace, name).
open_lineage_job = EntityType(
    FLOWRUNS,
    "openLineageJob",
    base_name=f"{NS}.process",
    description="A job whose runs are recorded from its OpenLineage run events.",
    own_properties=(
        Property(
            "jobNamespace",
            Primitive.STRING,
            read_only=True,
            description="The OpenLineage namespace of the job.",
        ),
        Property(
            "jobName",
            Primitive.STRING,
            read_only=True,
            description="The OpenLineage name of the job, unique within its namespace.",
        ),
    ),
)
# The OpenLineage facets of a run recorded from events (run, job, inputs, outputs, merged over
# its events): an instance annotation of flowruns' vocabulary, sent with a run only when the
# client asks (``Prefer: odata.include-annotations="flowruns.openLineage"``), so Graph's run type
# keeps exactly its members.
open_lineage_facets = ComplexType(FLOWRUNS, "openLineageFacets", (), open=True)
OPEN_LINEAGE = Term(
    FLOWRUNS,
    "openLineage",
    open_lineage_facets,
    "EntityType",
    "The OpenLineage facets of a run recorded from OpenLineage events: run, job, inputs, outputs.",
)
# Process health (docs/monitoring.md): what a process is expected to do, whether it does, and
# the incidents that record each departure. Contained in the process, in flowruns' namespace,
# so a Graph client's process JSON is unchanged unless it asks ($expand=expectation).
health_state = EnumType(
    FLOWRUNS,
    "healthState",
    # In order of severity, so that ``$orderby=health/state desc`` puts the worst first, and the
    # most severe of several conditions is the greatest.
    (
        "healthy",
        "unknown",
        "slow",
        "ruleBroken",
        "late",
        "overdue",
        "failing",
        "missed",
        "paused",
        "unknownFutureValue",
    ),
)
incident_kind = EnumType(
    FLOWRUNS,
    "incidentKind",
    # ``stale``: a dataset not written successfully as often as its freshness expectation says.
    ("slow", "ruleBroken", "late", "overdue", "failing", "missed", "stale", "unknownFutureValue"),
)
# A dataset's freshness, in order of severity as health's states are (worst greatest).
freshness_state = EnumType(
    FLOWRUNS, "freshnessState", ("fresh", "unknown", "stale", "paused", "unknownFutureValue")
)
# What a process's and a dataset's expectations share: a pause, and who answers for them.
_ROUTING = (
    Property("paused", Primitive.BOOLEAN, description="Nothing is evaluated while paused."),
    Property(
        "pausedUntil",
        Primitive.DATE_TIME_OFFSET,
        description="When a pause ends by itself (a maintenance window); null: until unpaused.",
    ),
    Property("owner", Primitive.STRING, max_length=256, description="Who answers for it."),
    Property(
        "tags",
        Primitive.STRING,
        collection=True,
        max_length=256,
        description="Free labels, for routing and filtering.",
    ),
)
expectation = EntityType(
    FLOWRUNS,
    "expectation",
    base_name="microsoft.graph.entity",
    description="What a process is expected to do; every member is optional.",
    own_properties=(
        Property(
            "schedule",
            Primitive.STRING,
            max_length=256,
            description=(
                "When runs are expected to start: a cron expression (in timeZone) or an ISO 8601 "
                "repeating interval (R/2026-01-01T02:00:00Z/P1D)."
            ),
        ),
        Property(
            "timeZone",
            Primitive.STRING,
            max_length=64,
            description="The IANA time zone of a cron schedule (default UTC).",
        ),
        Property(
            "grace",
            Primitive.STRING,
            max_length=64,
            description="ISO 8601 duration: a start later than expected + grace is late.",
        ),
        Property(
            "maxDuration",
            Primitive.STRING,
            max_length=64,
            description="ISO 8601 duration: a run still running after it is overdue.",
        ),
        Property(
            "durationAnomaly",
            Primitive.DOUBLE,
            description=(
                "A finished run slower than this factor times the median of the last 20 "
                "finished runs (at least 5) is slow."
            ),
        ),
        Property(
            "successRule",
            Primitive.STRING,
            max_length=2048,
            description="A $filter expression over a finished run; a run outside it broke it.",
        ),
        Property(
            "failureStreak",
            Primitive.INT64,
            description="This many consecutive failed runs make the process failing.",
        ),
        *_ROUTING,
        Property(
            "lastModifiedDateTime",
            Primitive.DATE_TIME_OFFSET,
            read_only=True,
            description=(
                "When the expectation was created or last changed: no earlier expected start "
                "opens an incident."
            ),
        ),
    ),
)
# How many of the latest expected starts a process's health lists.
RECENT_EXPECTED_STARTS = 20
RECENT_EXPECTED = Property(
    "recentExpectedDateTimes",
    Primitive.DATE_TIME_OFFSET,
    collection=True,
    read_only=True,
    stored=False,
    description=(
        f"The latest {RECENT_EXPECTED_STARTS} expected starts before nextExpectedDateTime, "
        "oldest first, since the expectation was last changed (or a pause ended); empty "
        "while paused. Computed when read: one process's health carries it, the health of "
        "many processes only when $select names it."
    ),
)
process_health = EntityType(
    FLOWRUNS,
    "processHealth",
    base_name="microsoft.graph.entity",
    read_only=True,
    description="Whether a process meets its expectation, as the server last evaluated it.",
    own_properties=(
        Property("state", health_state, nullable=False, read_only=True),
        Property(
            "changedDateTime",
            Primitive.DATE_TIME_OFFSET,
            read_only=True,
            description="When the state last changed.",
        ),
        Property(
            "nextExpectedDateTime",
            Primitive.DATE_TIME_OFFSET,
            read_only=True,
            description="The next expected start, when the expectation has a schedule.",
        ),
        RECENT_EXPECTED,
    ),
)
incident = EntityType(
    FLOWRUNS,
    "incident",
    base_name="microsoft.graph.entity",
    read_only=True,
    description=(
        "A departure of a process from its expectation, or of a dataset from its freshness "
        "expectation, open until its condition clears."
    ),
    own_properties=(
        Property("kind", incident_kind, nullable=False, read_only=True),
        Property(
            "datasetId",
            Primitive.STRING,
            read_only=True,
            description="The dataset the incident is about (stale); null for a process's.",
        ),
        Property(
            "runId",
            Primitive.STRING,
            read_only=True,
            description="The run the incident is about, when there is one.",
        ),
        Property("openedDateTime", Primitive.DATE_TIME_OFFSET, nullable=False, read_only=True),
        Property(
            "resolvedDateTime",
            Primitive.DATE_TIME_OFFSET,
            read_only=True,
            description="When the condition cleared; null while the incident is open.",
        ),
        Property(
            "expectedDateTime",
            Primitive.DATE_TIME_OFFSET,
            read_only=True,
            description="The expected start the incident is about (late, missed).",
        ),
        Property(
            "occurrences",
            Primitive.INT64,
            nullable=False,
            read_only=True,
            description="How many expected starts a missed incident covers.",
        ),
        Property("message", Primitive.STRING, nullable=False, read_only=True),
    ),
    own_navigations=(
        NavigationProperty(
            "process",
            f"{NS}.process",
            collection=False,
            read_only=True,
            partner="incidents",
            description="The process of the incident; null for a dataset's.",
        ),
        NavigationProperty(
            "dataset",
            f"{FLOWRUNS}.dataset",
            collection=False,
            read_only=True,
            partner="incidents",
            description="The dataset of the incident; null for a process's.",
        ),
    ),
    functions=(DELTA,),
)
# Lineage as data (docs/lineage.md): the datasets runs read and write, from OpenLineage events
# and from the API, and each run's access to each (its row counts and per-run facets), in
# flowruns' namespace. A dataset's accesses are its writes and reads, newest run first.
dataset_access_direction = EnumType(FLOWRUNS, "datasetAccessDirection", ("input", "output"))
dataset_facets = ComplexType(FLOWRUNS, "datasetFacets", (), open=True)
dataset_access_facets = ComplexType(FLOWRUNS, "datasetAccessFacets", (), open=True)
dataset = EntityType(
    FLOWRUNS,
    "dataset",
    base_name="microsoft.graph.entity",
    read_only=True,
    description="A dataset runs read or write, known by its namespace and name.",
    own_properties=(
        Property(
            "namespace",
            Primitive.STRING,
            nullable=False,
            read_only=True,
            description="The OpenLineage namespace of the dataset (flowruns when none is given).",
        ),
        Property(
            "name",
            Primitive.STRING,
            nullable=False,
            read_only=True,
            description="The name of the dataset, unique within its namespace.",
        ),
        Property(
            "facets",
            dataset_facets,
            read_only=True,
            description="Its OpenLineage dataset facets (schema, dataSource …), merged by name.",
        ),
        Property("createdDateTime", Primitive.DATE_TIME_OFFSET, nullable=False, read_only=True),
        Property(
            "lastModifiedDateTime",
            Primitive.DATE_TIME_OFFSET,
            nullable=False,
            read_only=True,
            description="When the dataset or its facets last changed.",
        ),
        Property(
            "lastWrittenDateTime",
            Primitive.DATE_TIME_OFFSET,
            read_only=True,
            description=(
                "The end of the latest successful run (completed or completedWithWarnings) that "
                "wrote it; null when none has."
            ),
        ),
        Property(
            "lastWrittenRunId",
            Primitive.STRING,
            read_only=True,
            description="That run's id.",
        ),
    ),
    own_navigations=(
        NavigationProperty(
            "writes",
            f"{FLOWRUNS}.datasetAccess",
            collection=True,
            read_only=True,
            insertable=False,
            insert_note="Record a run's output with POST runs/{id}/outputs.",
            description="The runs that wrote the dataset, newest run first.",
        ),
        NavigationProperty(
            "reads",
            f"{FLOWRUNS}.datasetAccess",
            collection=True,
            read_only=True,
            insertable=False,
            insert_note="Record a run's input with POST runs/{id}/inputs.",
            description="The runs that read the dataset, newest run first.",
        ),
        NavigationProperty(
            "expectation",
            f"{FLOWRUNS}.freshnessExpectation",
            collection=False,
            contains_target=True,
            description="How often the dataset is expected to be written, and its freshness.",
        ),
        NavigationProperty(
            "incidents",
            f"{FLOWRUNS}.incident",
            collection=True,
            read_only=True,
            insertable=False,
            insert_note="Incidents are opened and resolved by the server's evaluation.",
            partner="dataset",
            description="The dataset's stale incidents, newest first.",
        ),
    ),
    functions=(DELTA,),
)
# A dataset's freshness expectation (docs/lineage.md#freshness): written successfully at least
# every ``writtenEvery``, else a stale incident opens. Its members and its evaluation share one
# row, keyed by the dataset; the evaluated members are read-only.
freshness_expectation = EntityType(
    FLOWRUNS,
    "freshnessExpectation",
    base_name="microsoft.graph.entity",
    description="How often a dataset is expected to be written successfully, and whether it is.",
    own_properties=(
        Property(
            "writtenEvery",
            Primitive.STRING,
            nullable=False,
            required=True,
            max_length=64,
            description=(
                "ISO 8601 duration: a successful run is expected to write the dataset at least "
                "this often (a stale incident opens when none has for longer)."
            ),
        ),
        *_ROUTING,
        Property(
            "lastModifiedDateTime",
            Primitive.DATE_TIME_OFFSET,
            read_only=True,
            description="When the expectation was created or last changed.",
        ),
        Property(
            "state",
            freshness_state,
            nullable=False,
            read_only=True,
            description="Whether the dataset is fresh, as the server last evaluated it.",
        ),
        Property(
            "changedDateTime",
            Primitive.DATE_TIME_OFFSET,
            read_only=True,
            description="When the state last changed.",
        ),
        Property(
            "writeDueDateTime",
            Primitive.DATE_TIME_OFFSET,
            read_only=True,
            description=(
                "When the dataset goes stale without a successful write: its last successful "
                "write (or the expectation's last change, if later) plus writtenEvery."
            ),
        ),
    ),
)
dataset_access = EntityType(
    FLOWRUNS,
    "datasetAccess",
    base_name="microsoft.graph.entity",
    description="One run reading or writing one dataset.",
    own_properties=(
        Property("direction", dataset_access_direction, nullable=False, read_only=True),
        Property("datasetId", Primitive.STRING, nullable=False, read_only=True),
        Property(
            "namespace",
            Primitive.STRING,
            nullable=False,
            max_length=1024,
            description="The dataset's namespace (default flowruns).",
        ),
        Property(
            "name",
            Primitive.STRING,
            nullable=False,
            required=True,
            min_length=1,
            max_length=1024,
            description="The dataset's name.",
        ),
        Property("runId", Primitive.STRING, nullable=False, read_only=True),
        Property("runStatus", run_status, nullable=False, read_only=True),
        Property("runStartDateTime", Primitive.DATE_TIME_OFFSET, nullable=False, read_only=True),
        Property("runEndDateTime", Primitive.DATE_TIME_OFFSET, read_only=True),
        Property("rowCount", Primitive.INT64, description="Rows read or written."),
        Property("byteCount", Primitive.INT64, description="Bytes read or written."),
        Property("fileCount", Primitive.INT64, description="Files read or written."),
        Property(
            "facets",
            dataset_access_facets,
            description="The run's own facets of the dataset (inputFacets or outputFacets).",
        ),
    ),
    own_navigations=(
        NavigationProperty(
            "run",
            f"{NS}.run",
            collection=False,
            read_only=True,
            nullable=False,
            description="The run.",
        ),
        NavigationProperty(
            "dataset",
            f"{FLOWRUNS}.dataset",
            collection=False,
            read_only=True,
            nullable=False,
            description="The dataset.",
        ),
    ),
)
industry_data_hub = EntityType(
    NS,
    "industryDataHub",
    base_name=f"{NS}.mutableEntity",
    read_only=True,
    description="The root of the industry data API: the tenant's runs, processes and run groups.",
    own_navigations=(
        NavigationProperty(
            "runs",
            f"{NS}.run",
            collection=True,
            contains_target=True,
            description="Every run of the tenant, of every run type, newest first.",
        ),
        NavigationProperty(
            "processes",
            f"{NS}.process",
            collection=True,
            contains_target=True,
            description="Every process of the tenant, by name.",
        ),
        NavigationProperty(
            "runGroups",
            f"{NS}.runGroup",
            collection=True,
            contains_target=True,
            description="The run groups of the tenant; each is also in runs.",
        ),
        NavigationProperty(
            "incidents",
            f"{FLOWRUNS}.incident",
            collection=True,
            contains_target=True,
            read_only=True,
            insertable=False,
            insert_note="Incidents are opened and resolved by the server's evaluation.",
            description="Every incident of the tenant's processes and datasets, newest first.",
        ),
        NavigationProperty(
            "datasets",
            f"{FLOWRUNS}.dataset",
            collection=True,
            contains_target=True,
            read_only=True,
            insertable=False,
            insert_note="Datasets are recorded with the runs that read and write them.",
            description="Every dataset the tenant's runs read or wrote, by name.",
        ),
    ),
    # The rest of Graph's industryDataRoot: connectors, inbound flows, reference data, roles.
    graph_only=tuple(
        GraphOnly(name, "navigation")
        for name in (
            "dataConnectors",
            "inboundFlows",
            "operations",
            "outboundProvisioningFlowSets",
            "referenceDefinitions",
            "roleGroups",
            "sourceSystems",
            "years",
        )
    ),
)

# Graph's change notifications: a subscription at the service root (``/subscriptions``), with
# exactly the members of Graph's microsoft.graph.subscription. flowruns keeps them in its own
# table and answers them with its own handlers (docs/notifications.md).
subscription = EntityType(
    GRAPH,
    "subscription",
    base_name="microsoft.graph.entity",
    description="A webhook subscription to changes of a collection (change notifications).",
    own_properties=(
        Property("applicationId", Primitive.STRING, read_only=True),
        Property("changeType", Primitive.STRING, nullable=False, required=True, max_length=64),
        Property("clientState", Primitive.STRING, max_length=128),
        Property("creatorId", Primitive.STRING, read_only=True),
        Property("encryptionCertificate", Primitive.STRING),
        Property("encryptionCertificateId", Primitive.STRING),
        Property("expirationDateTime", Primitive.DATE_TIME_OFFSET, nullable=False, required=True),
        Property("includeResourceData", Primitive.BOOLEAN),
        Property("latestSupportedTlsVersion", Primitive.STRING, max_length=16),
        Property("lifecycleNotificationUrl", Primitive.STRING, max_length=2048),
        Property("notificationContentType", Primitive.STRING, max_length=64),
        Property("notificationQueryOptions", Primitive.STRING),
        Property(
            "notificationUrl", Primitive.STRING, nullable=False, required=True, max_length=2048
        ),
        Property("notificationUrlAppId", Primitive.STRING),
        Property("resource", Primitive.STRING, nullable=False, required=True, max_length=2048),
    ),
)
SUBSCRIPTIONS_PATH = "subscriptions"
# How a subscription's notifications are written: an instance annotation of flowruns' vocabulary
# sent with the subscription (``"@flowruns.notificationFormat": "slack"``), so Graph's
# subscription type and what Graph clients send stay as they are. Absent: Graph's format.
notification_format = EnumType(
    FLOWRUNS, "notificationFormat", ("graph", "cloudEvents", "slack", "teams")
)
NOTIFICATION_FORMAT = Term(
    FLOWRUNS,
    "notificationFormat",
    notification_format,
    "EntityType",
    "How a subscription's notifications are written: graph (Graph's change notifications, the "
    "default), cloudEvents (CloudEvents 1.0 structured JSON), slack (a Slack incoming-webhook "
    "message) or teams (an Adaptive Card for a Microsoft Teams Workflows webhook).",
)

MODEL = Model(
    enums=[
        run_status,
        readiness_status,
        data_share_sharing_state,
        notification_format,
        health_state,
        incident_kind,
        freshness_state,
        dataset_access_direction,
    ],
    complex_types=[
        public_error_detail,
        public_inner_error,
        public_error,
        run_statistics,
        open_lineage_facets,
        dataset_facets,
        dataset_access_facets,
    ],
    entity_types=[
        entity,
        external,
        mutable_entity,
        run,
        outgoing_flow_run,
        incoming_flow_run,
        run_group,
        process,
        outgoing_flow,
        data_share_outgoing_flow,
        insights_outgoing_flow,
        open_lineage_job,
        expectation,
        process_health,
        incident,
        dataset,
        dataset_access,
        freshness_expectation,
        industry_data_hub,
        subscription,
    ],
    terms=[OPEN_LINEAGE, NOTIFICATION_FORMAT],
)

RUNS = EntitySetBinding("runs", run, table="runs", default_order=("startDateTime", True))
PROCESSES = EntitySetBinding(
    "processes", process, table="processes", default_order=("displayName", False)
)
RUN_GROUPS = EntitySetBinding(
    "runGroups", run_group, table="runs", default_order=("startDateTime", True)
)
INCIDENTS = EntitySetBinding(
    "incidents", incident, table="incidents", default_order=("openedDateTime", True)
)
DATASETS = EntitySetBinding("datasets", dataset, table="datasets", default_order=("name", False))
ENTITY_SETS = {b.name: b for b in (RUNS, PROCESSES, RUN_GROUPS, INCIDENTS, DATASETS)}
# A run's inputs and outputs, a dataset's reads and writes: one table of accesses, contained in
# both the run and the dataset, newest run first.
ACCESSES = EntitySetBinding(
    "accesses", dataset_access, table="dataset_accesses", default_order=("runStartDateTime", True)
)
# The navigations to accesses, the parent's column that links them and the direction they keep.
ACCESS_NAVIGATIONS = {
    "inputs": ("run_id", "input"),
    "outputs": ("run_id", "output"),
    "reads": ("dataset_id", "input"),
    "writes": ("dataset_id", "output"),
}
# The OpenLineage namespace a dataset recorded through the API without one is given.
DEFAULT_DATASET_NAMESPACE = "flowruns"
# Contained in a process, one each, and stored together (one row per process with an
# expectation): not entity sets, but where their rows live.
EXPECTATIONS = EntitySetBinding(
    "expectation", expectation, table="expectations", default_order=("id", False)
)
HEALTH = EntitySetBinding(
    "health", process_health, table="expectations", default_order=("id", False)
)
# A dataset's freshness expectation, contained in the dataset (its own row, keyed by it).
FRESHNESS = EntitySetBinding(
    "expectation", freshness_expectation, table="dataset_expectations", default_order=("id", False)
)
CONTAINED = (EXPECTATIONS, HEALTH, FRESHNESS)

# The run type a process produces when a run is created under it without an @odata.type.
RUN_TYPE_OF_PROCESS: dict[str, EntityType] = {
    outgoing_flow.qualified_name: outgoing_flow_run,
}

FINISHED_STATUSES = frozenset(
    {"failed", "completed", "completedWithErrors", "completedWithWarnings"}
)
HUB_PATH = "external/industryData"


def run_type_for(process_type: EntityType) -> EntityType:
    """The run type created under a process of ``process_type`` when the body names none."""
    for t in process_type.lineage():
        if t.qualified_name in RUN_TYPE_OF_PROCESS:
            return RUN_TYPE_OF_PROCESS[t.qualified_name]
    return outgoing_flow_run
