"""Notification formats of flowruns' vocabulary: CloudEvents, Slack and Teams messages.

A subscription chooses one with the ``@flowruns.notificationFormat`` instance annotation
(:data:`flowruns.edm.industrydata.NOTIFICATION_FORMAT`); without it, Graph's change
notifications are sent. Each notification of these formats is a request of its own:

- ``cloudEvents``: a CloudEvents 1.0 event in the structured JSON format (``application/
  cloudevents+json``), ``type`` ``flowruns.<run|process|incident>.<changeType>``, ``source`` the
  collection's URL, ``subject`` the entity's path, ``data`` Graph's notification item (with
  ``encryptedContent`` for a subscription that includes resource data).
- ``slack``: ``{"text": …}``, which a Slack incoming webhook posts as a message: a one-line
  summary for people and a link to the run's dashboard page (Slack's ``<url|text>`` markup).
- ``teams``: a ``message`` carrying one Adaptive Card, as a Microsoft Teams Workflows webhook
  ("When a Teams webhook request is received") takes it: the same summary, the facts under it
  and a button opening the run.

A summary is written for people: the process's name (the run's own when it has none, or when
the subscription's creator may not read processes), the status in words, the blocking error's
message and how long the run took: "❌ Nightly roster export failed: destination rejected
credentials (took 3 min 12 s)". An incident's summary is its own message, which names its
process ("🚨 Nightly roster export: no run started since 02:00 Europe/Paris, 2 h 10 min ago"),
and a resolved one says so; its link opens the incident's dashboard page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from flowruns.edm.datetimes import TICKS_PER_SECOND, format_ticks
from flowruns.edm.industrydata import DATASETS, FINISHED_STATUSES, HUB_PATH, INCIDENTS, RUNS
from flowruns.edm.model import EntityType
from flowruns.records import Record

GRAPH = "graph"
CLOUD_EVENTS = "cloudEvents"
SLACK = "slack"
TEAMS = "teams"
CHAT_FORMATS = frozenset({SLACK, TEAMS})
# The media type each format's requests are sent as.
CONTENT_TYPES = {
    CLOUD_EVENTS: "application/cloudevents+json; charset=utf-8",
    SLACK: "application/json; charset=utf-8",
    TEAMS: "application/json; charset=utf-8",
}
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_CARD_VERSION = "1.4"  # what Teams renders in every client (Adaptive Cards' own advice)

_STATUS_WORDS = {
    "running": ("▶️", "started"),
    "completed": ("✅", "completed"),
    "completedWithWarnings": ("⚠️", "completed with warnings"),
    "completedWithErrors": ("⚠️", "completed with errors"),
    "failed": ("❌", "failed"),
}


# Each incident kind in words, and the sign its open incidents' summaries start with.
_INCIDENT_WORDS = {
    "missed": ("🚨", "missed start"),
    "failing": ("🚨", "failing"),
    "late": ("⏰", "late start"),
    "overdue": ("⏰", "overdue run"),
    "ruleBroken": ("⚠️", "success rule broken"),
    "slow": ("🐢", "slow run"),
    "stale": ("🕸️", "stale dataset"),
}


@dataclass(frozen=True)
class Links:
    """Where people and consumers reach the server: the OData service root
    (``https://runs.example.com/beta``) and the dashboard (``https://runs.example.com/``)."""

    service_root: str
    dashboard: str


@dataclass(frozen=True)
class Summary:
    """What a person is told of a change: a headline, facts and the dashboard link."""

    headline: str
    facts: tuple[tuple[str, str], ...]
    link: str | None


def duration_words(ticks: int) -> str:
    """``3 min 12 s``, ``2 h 5 min``, ``850 ms``: a run's length as people read it."""
    seconds = ticks / TICKS_PER_SECOND
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, seconds_left = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds_left} s" if seconds_left else f"{minutes} min"
    return f"{seconds_left} s"


def summary(
    change_type: str,
    entity_id: str,
    record: Record | None,
    process_name: str | None,
    dashboard: str,
) -> Summary:
    """The summary of a change of the entity ``entity_id`` (``record``: as it is now, None when
    it no longer exists), ``dashboard`` being the dashboard's URL."""
    if record is None:
        return Summary(f"🗑️ The entity {entity_id} was deleted.", (), None)
    values = record.values
    if record.type.is_a(INCIDENTS.type):
        return _incident_summary(record, dashboard)
    if record.type.is_a(DATASETS.type):
        return _dataset_summary(change_type, record, dashboard)
    name = str(values.get("displayName") or entity_id)
    if not record.type.is_a(RUNS.type):
        kind = "created" if change_type == "created" else "changed"
        return Summary(
            f"🗂️ The process {name} was {kind}.", (), f"{dashboard}#/processes/{record.id}"
        )
    status = str(values.get("status") or "running")
    emoji, words = _STATUS_WORDS.get(status, ("ℹ️", status))  # noqa: RUF001 - the info sign
    title = process_name or name
    headline = f"{emoji} {title} {words}"
    error = values.get("blockingError")
    message = error.get("message") if isinstance(error, dict) else None
    if message:
        headline += f": {message}"
    facts: list[tuple[str, str]] = []
    if process_name and process_name != name:
        facts.append(("Run", name))
    facts.append(("Status", words))
    start, end = values.get("startDateTime"), values.get("endDateTime")
    if status in FINISHED_STATUSES and start is not None and end is not None:
        took = duration_words(end - start)
        headline += f" (took {took})"
        facts.append(("Duration", took))
    elif start is not None:
        facts.append(("Started", format_ticks(start)))
    if message:
        facts.append(("Error", str(message)))
    return Summary(headline, tuple(facts), f"{dashboard}#/runs/{record.id}")


def _dataset_summary(change_type: str, record: Record, dashboard: str) -> Summary:
    """A dataset's change as people read it: created, or changed (written, new facets)."""
    values = record.values
    name = f"{values['namespace']}/{values['name']}"
    facts: list[tuple[str, str]] = []
    written = values.get("lastWrittenDateTime")
    if written is not None:
        facts.append(("Last written", format_ticks(written)))
    kind = "created" if change_type == "created" else "changed"
    return Summary(
        f"🗄️ The dataset {name} was {kind}.", tuple(facts), f"{dashboard}#/datasets/{record.id}"
    )


def _incident_summary(record: Record, dashboard: str) -> Summary:
    """An incident as people read it: its message (which names the process or dataset), open
    or resolved."""
    values = record.values
    kind = str(values.get("kind"))
    sign, words = _INCIDENT_WORDS.get(kind, ("ℹ️", kind))  # noqa: RUF001 - the info sign
    message = str(values.get("message") or words)
    resolved = values.get("resolvedDateTime")
    headline = f"{sign} {message}" if resolved is None else f"✅ Resolved: {message}"
    facts = [("Incident", words), ("Opened", format_ticks(values["openedDateTime"]))]
    if resolved is not None:
        facts.append(("Resolved", format_ticks(resolved)))
    occurrences = values.get("occurrences")
    if kind == "missed" and isinstance(occurrences, int) and occurrences > 1:
        facts.append(("Missed starts", str(occurrences)))
    return Summary(headline, tuple(facts), f"{dashboard}#/incidents/{record.id}")


def event_kind(entity_type: EntityType) -> str:
    """What a CloudEvent's ``type`` calls an entity of ``entity_type``: run, incident, dataset
    or process."""
    if entity_type.is_a(RUNS.type):
        return "run"
    if entity_type.is_a(INCIDENTS.type):
        return "incident"
    if entity_type.is_a(DATASETS.type):
        return "dataset"
    return "process"


def _slack_escaped(text: str) -> str:
    """Slack's three control characters, escaped as its message formatting asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(told: Summary) -> bytes:
    """A message for a Slack incoming webhook: the summary on one line and a link."""
    text = _slack_escaped(told.headline)
    if told.link is not None:
        text += f" <{told.link}|Open in flowruns>"
    return orjson.dumps({"text": text})


def teams_message(told: Summary) -> bytes:
    """A message for a Teams Workflows webhook: one Adaptive Card with the summary."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": told.headline, "wrap": True, "weight": "Bolder"}
    ]
    if told.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [{"title": title, "value": value} for title, value in told.facts],
            }
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
    }
    if told.link is not None:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open in flowruns", "url": told.link}
        ]
    return orjson.dumps(
        {
            "type": "message",
            "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
        }
    )


def cloud_event(
    event_id: bytes,
    change_type: str,
    kind: str,
    service_root: str,
    set_name: str,
    entity_id: str,
    time: int,
    item: bytes,
) -> bytes:
    """A CloudEvents 1.0 event (structured JSON) whose ``data`` is ``item``, Graph's
    notification item as JSON; ``kind`` is the entity's (:func:`event_kind`)."""
    head = orjson.dumps(
        {
            "specversion": "1.0",
            "id": event_id.decode(),
            "type": f"flowruns.{kind}.{change_type}",
            "source": f"{service_root}/{HUB_PATH}/{set_name}",
            "subject": f"{HUB_PATH}/{set_name}/{entity_id}",
            "time": format_ticks(time),
            "datacontenttype": "application/json",
        }
    )
    return head[:-1] + b',"data":' + item + b"}"
