"""An example of each main schema of the OpenAPI document, as ``examples`` on its component.

``/docs`` shows them beside each request body and response; a test validates every one against
its own schema, so an example cannot say what the model no longer allows.
"""

from __future__ import annotations

from typing import Any

_NS = "#microsoft.graph.industryData"
_RUN_ID = "50411dba-20aa-42cb-9238-3e02f9233fd5"
_PROCESS_ID = "eb4850c2-ec72-40cb-a6ea-b0251014b973"
_STATISTICS = {"recordsProcessed": 1200, "recordsSucceeded": 1188, "recordsFailed": 12}
_BLOCKING_ERROR: dict[str, Any] = {
    "code": "connectionFailed",
    "message": "Lost the connection to the destination share: connection timed out",
    "target": "Nightly roster export",
    "details": [],
    "innerError": None,
}

_COMPLETED_RUN = {
    "@odata.type": f"{_NS}.outgoingFlowRun",
    "@odata.etag": 'W/"401ee5d3f156182f"',
    "id": _RUN_ID,
    "displayName": "Nightly roster export 2026-11-27",
    "startDateTime": "2026-11-27T20:55:37.5745930Z",
    "endDateTime": "2026-11-27T20:58:02.1380000Z",
    "status": "completed",
    "blockingError": None,
    "statistics": {"recordsProcessed": 1200, "recordsSucceeded": 1200, "recordsFailed": 0},
}
_FAILED_RUN = {
    **_COMPLETED_RUN,
    "@odata.type": f"{_NS}.incomingFlowRun",
    "displayName": "Enrollment import 2026-11-27",
    "status": "failed",
    "blockingError": _BLOCKING_ERROR,
    "statistics": _STATISTICS,
}
_RUN_GROUP = {
    **_COMPLETED_RUN,
    "@odata.type": f"{_NS}.runGroup",
    "displayName": "Nightly exports 2026-11-27",
    "statistics": {},
}
_DATA_SHARE = {
    "@odata.type": f"{_NS}.dataShareOutgoingFlow",
    "@odata.etag": 'W/"9c0d2f1e4b7a6358"',
    "id": _PROCESS_ID,
    "displayName": "Nightly roster export",
    "readinessStatus": "ready",
    "shareName": "nightly-roster",
    "inviteeUserIds": ["6a1f0d4e-2b3c-4d5e-8f90-a1b2c3d4e5f6"],
    "sharingState": "running",
}
_INSIGHTS = {
    "@odata.type": f"{_NS}.insightsOutgoingFlow",
    "@odata.etag": 'W/"3e5a7c9b1d2f4068"',
    "id": "0c6f4a1e-8d2b-4f3a-9e5c-7b1d2a3c4e5f",
    "displayName": "Attendance insights",
    "readinessStatus": "ready",
}

_EXPECTATION = {
    "schedule": "0 2 * * *",
    "timeZone": "Europe/Paris",
    "grace": "PT30M",
    "maxDuration": "PT2H",
    "durationAnomaly": 3.0,
    "successRule": "statistics/recordsFailed eq 0 and statistics/recordsProcessed gt 0",
    "failureStreak": 3,
    "paused": False,
    "pausedUntil": None,
    "owner": "data-platform",
    "tags": ["nightly", "rostering"],
}
_FRESHNESS = {
    "writtenEvery": "P1D",
    "paused": False,
    "pausedUntil": None,
    "owner": "data-platform",
    "tags": ["warehouse"],
}
_INCIDENT = {
    "@odata.type": "#flowruns.incident",
    "@odata.etag": 'W/"5b0c9e2a7d4f1836"',
    "id": "2e9b7c41-6a3d-4f8e-b1c5-9d0a7e6f4b32",
    "kind": "missed",
    "datasetId": None,
    "runId": None,
    "openedDateTime": "2026-11-28T01:00:00Z",
    "resolvedDateTime": None,
    "expectedDateTime": "2026-11-27T01:00:00Z",
    "occurrences": 1,
    "message": (
        "Nightly roster export: no run started since 2026-11-27 02:00 Europe/Paris "
        "(1 expected start missed)."
    ),
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "microsoft.graph.industryData.run": _COMPLETED_RUN,
    "microsoft.graph.industryData.outgoingFlowRun": _COMPLETED_RUN,
    "microsoft.graph.industryData.incomingFlowRun": _FAILED_RUN,
    "microsoft.graph.industryData.runGroup": _RUN_GROUP,
    "microsoft.graph.industryData.process": _DATA_SHARE,
    "microsoft.graph.industryData.outgoingFlow": _DATA_SHARE,
    "microsoft.graph.industryData.dataShareOutgoingFlow": _DATA_SHARE,
    "microsoft.graph.industryData.insightsOutgoingFlow": _INSIGHTS,
    "microsoft.graph.publicError": _BLOCKING_ERROR,
    "microsoft.graph.industryData.runStatistics": _STATISTICS,
    "runCreate": {
        "@odata.type": f"{_NS}.outgoingFlowRun",
        "displayName": "Nightly roster export 2026-11-27",
    },
    "runCreateUnderProcess": {"displayName": "Nightly roster export 2026-11-27"},
    "runUpdate": {"status": "completed", "statistics": _STATISTICS},
    "processCreate": {
        "@odata.type": f"{_NS}.dataShareOutgoingFlow",
        "displayName": "Nightly roster export",
        "readinessStatus": "ready",
        "shareName": "nightly-roster",
        "sharingState": "running",
    },
    "processUpdate": {"readinessStatus": "ready"},
    "expectationWrite": _EXPECTATION,
    "freshnessExpectationWrite": _FRESHNESS,
    "flowruns.freshnessExpectation": {
        "@odata.type": "#flowruns.freshnessExpectation",
        "@odata.etag": 'W/"4d2a9c7e1b3f5a60"',
        "id": "7a3e1c9d-2b4f-4e6a-8c0d-5f1b3a7e9c2d",
        **_FRESHNESS,
        "lastModifiedDateTime": "2026-11-20T08:00:00Z",
        "state": "stale",
        "changedDateTime": "2026-11-28T06:00:00Z",
        "writeDueDateTime": "2026-11-28T06:00:00Z",
    },
    "flowruns.expectation": {
        "@odata.type": "#flowruns.expectation",
        "@odata.etag": 'W/"8c1d2e3f4a5b6c7d"',
        "id": _PROCESS_ID,
        **_EXPECTATION,
        "lastModifiedDateTime": "2026-11-27T09:12:44.1000000Z",
    },
    "flowruns.processHealth": {
        "@odata.type": "#flowruns.processHealth",
        "@odata.etag": 'W/"8c1d2e3f4a5b6c7d"',
        "id": _PROCESS_ID,
        "state": "missed",
        "changedDateTime": "2026-11-28T01:00:00Z",
        "nextExpectedDateTime": "2026-11-28T01:00:00Z",
        "recentExpectedDateTimes": ["2026-11-26T01:00:00Z", "2026-11-27T01:00:00Z"],
    },
    "flowruns.incident": _INCIDENT,
    "microsoft.graph.subscription": {
        "@odata.type": "#microsoft.graph.subscription",
        "id": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        "resource": "external/industryData/runs?$filter=status eq 'failed'",
        "applicationId": "24d3b144-21ae-4080-943f-7067b395b913",
        "changeType": "created,updated",
        "clientState": "secretClientValue",
        "notificationUrl": "http://127.0.0.1:8400/notify",
        "notificationQueryOptions": None,
        "lifecycleNotificationUrl": "http://127.0.0.1:8400/lifecycle",
        "expirationDateTime": "2026-11-29T18:23:45.9356913Z",
        "creatorId": "24d3b144-21ae-4080-943f-7067b395b913",
        "includeResourceData": False,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
        "notificationContentType": None,
    },
    "subscriptionCreate": {
        "changeType": "created,updated",
        "notificationUrl": "http://127.0.0.1:8400/notify",
        "lifecycleNotificationUrl": "http://127.0.0.1:8400/lifecycle",
        "resource": "external/industryData/runs?$filter=status eq 'failed'",
        "expirationDateTime": "2026-11-29T18:23:45.9356913Z",
        "clientState": "secretClientValue",
    },
    "subscriptionUpdate": {"expirationDateTime": "2026-11-30T18:23:45.9356913Z"},
    "batchRequest": {
        "requests": [
            {"id": "1", "method": "GET", "url": "/external/industryData/runs?$top=5"},
            {
                "id": "2",
                "method": "POST",
                "url": "/external/industryData/runs",
                "headers": {"Content-Type": "application/json"},
                "body": {
                    "@odata.type": f"{_NS}.outgoingFlowRun",
                    "displayName": "Nightly roster export 2026-11-27",
                },
            },
            {
                "id": "3",
                "method": "GET",
                "url": "/external/industryData/runs/$count",
                "dependsOn": ["2"],
            },
        ]
    },
    "batchResponse": {
        "responses": [
            {
                "id": "3",
                "status": 200,
                "headers": {"content-type": "text/plain;charset=utf-8"},
                "body": "42",
            },
            {
                "id": "2",
                "status": 201,
                "headers": {
                    "content-type": "application/json;odata.metadata=minimal",
                    "location": f"http://127.0.0.1:8000/beta/external/industryData/runs/{_RUN_ID}",
                },
                "body": {**_COMPLETED_RUN, "status": "running", "endDateTime": None},
            },
        ]
    },
    "GraphError": {
        "error": {
            "code": "itemNotFound",
            "message": f"The run '{_RUN_ID}' does not exist.",
        }
    },
}
