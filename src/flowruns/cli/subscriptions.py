"""``flowruns subscriptions list|create|renew|delete`` and ``flowruns listen``: change
notifications from the command line."""

from __future__ import annotations

import json
import secrets
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated

import typer

from flowruns.cli import render
from flowruns.cli.remote import Token, Url, client, err, out
from flowruns.client.models import Subscription
from flowruns.client.webhooks import Notification, Receiver

app = typer.Typer(
    help="Subscriptions: webhooks told of changes (Graph change notifications).",
    no_args_is_help=True,
)

RUNS = "external/industryData/runs"
ALL_CHANGES = "created,updated,deleted"
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Minutes = Annotated[
    int,
    typer.Option(min=1, max=4230, help="Minutes until the subscription expires (at most 4230)."),
]
SubscriptionId = Annotated[str, typer.Argument(metavar="ID", help="The subscription's id.")]


def _expiring(minutes: int) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def _row(subscription: Subscription) -> dict[str, str]:
    expires = subscription.expiration_date_time
    return {
        "id": subscription.id or "",
        "resource": subscription.resource or "",
        "changeType": subscription.change_type or "",
        "notificationUrl": subscription.notification_url or "",
        "expires": expires.isoformat() if expires else "",
    }


def _show(subscriptions: list[Subscription], as_json: bool) -> None:
    if as_json:
        typer.echo(render.dumps([render.as_json(s) for s in subscriptions]))
        return
    for row in map(_row, subscriptions):
        out().print(
            f"{row['id']}  {row['changeType']:<24} {row['resource']}  → {row['notificationUrl']}"
            f"  (until {row['expires']})",
            highlight=False,
            soft_wrap=True,
        )


@app.command("list")
def list_subscriptions(as_json: Json = False, url: Url = None, token: Token = None) -> None:
    """List this application's subscriptions."""
    with client(url, token) as service:
        found = service.subscriptions.list()
    if found or as_json:
        _show(found, as_json)
    else:
        err().print("No subscriptions.")


@app.command("create")
def create_subscription(
    notification_url: Annotated[str, typer.Argument(help="Where notifications are POSTed.")],
    resource: Annotated[
        str, typer.Option(help="What to follow, with an optional ?$filter=….")
    ] = RUNS,
    change_type: Annotated[
        str, typer.Option(help="created, updated, deleted, comma-separated.")
    ] = ALL_CHANGES,
    minutes: Minutes = 60,
    client_state: Annotated[
        str | None, typer.Option(help="A secret each notification carries back.")
    ] = None,
    lifecycle_url: Annotated[
        str | None, typer.Option(help="Where lifecycle notifications are POSTed.")
    ] = None,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Subscribe a receiver (it must answer the validation handshake)."""
    with client(url, token) as service:
        created = service.subscriptions.create(
            resource,
            notification_url,
            _expiring(minutes),
            change_type=change_type,
            client_state=client_state,
            lifecycle_notification_url=lifecycle_url,
        )
    _show([created], as_json)


@app.command("renew")
def renew_subscription(
    subscription: SubscriptionId,
    minutes: Minutes = 60,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Move a subscription's expiration to --minutes from now."""
    with client(url, token) as service:
        renewed = service.subscriptions.renew(subscription, _expiring(minutes))
    _show([renewed], as_json)


@app.command("delete")
def delete_subscription(subscription: SubscriptionId, url: Url = None, token: Token = None) -> None:
    """Delete a subscription."""
    with client(url, token) as service:
        service.subscriptions.delete(subscription)
    err().print(f"Deleted subscription {subscription}.")


def _line(notification: Notification) -> str:
    when = datetime.now(UTC).strftime("%H:%M:%S")
    if notification.lifecycle_event is not None:
        return f"{when}  lifecycle  {notification.lifecycle_event}"
    return f"{when}  {notification.change_type:<8} {notification.resource}"


def listen(
    resource: Annotated[
        str, typer.Option(help="What to follow, with an optional ?$filter=….")
    ] = RUNS,
    change_type: Annotated[
        str, typer.Option(help="created, updated, deleted, comma-separated.")
    ] = ALL_CHANGES,
    host: Annotated[str, typer.Option(help="Address the receiver listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the receiver listens on (0: any).")] = 0,
    public_url: Annotated[
        str | None,
        typer.Option(help="The receiver's URL as the service reaches it (default: its own)."),
    ] = None,
    minutes: Minutes = 60,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Run a receiver here, subscribe it, and print notifications as they arrive; Ctrl-C stops
    it and deletes the subscription. A service on this machine must allow loopback receivers
    (FLOWRUNS_NOTIFICATION_ALLOW_PRIVATE=1)."""
    receiver = Receiver(client_state=secrets.token_urlsafe(24))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = receiver.handle(self.path.partition("?")[2], body)
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
            with lock:
                for notification in answer.notifications:
                    if as_json:
                        typer.echo(json.dumps(dict(notification.raw)))
                    else:
                        out().print(_line(notification), highlight=False, soft_wrap=True)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bound = server.server_address[1]
    base = public_url or f"http://{host}:{bound}"
    try:
        with client(url, token) as service:
            subscription = service.subscriptions.create(
                resource,
                f"{base}/notifications",
                _expiring(minutes),
                change_type=change_type,
                client_state=receiver.client_state,
                lifecycle_notification_url=f"{base}/lifecycle",
            )
            err().print(
                f"Listening on {base} for {change_type} of {resource} "
                f"(subscription {subscription.id}); Ctrl-C stops."
            )
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
            finally:
                assert subscription.id is not None
                service.subscriptions.delete(subscription.id)
    finally:
        server.shutdown()
