"""The ``paysim`` command."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from paysim.cli_dlq import dlq_app
from paysim.cli_outbox import outbox_app
from paysim.cli_serve import serve_app
from paysim.config import Settings
from paysim.errors import PaysimError

app = typer.Typer(
    help="paysim: payment events on real Kafka and stripe-mock.",
    no_args_is_help=True,
    # Plain tracebacks: services log to files, where rich's boxes only get in the way.
    pretty_exceptions_enable=False,
)
infra_app = typer.Typer(help="Start, inspect and stop Kafka and stripe-mock.", no_args_is_help=True)
topics_app = typer.Typer(help="The topic catalog on the broker.", no_args_is_help=True)
schema_app = typer.Typer(help="Event schemas.", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
app.add_typer(topics_app, name="topics")
app.add_typer(schema_app, name="schema")
app.add_typer(serve_app, name="serve")
app.add_typer(dlq_app, name="dlq")
app.add_typer(outbox_app, name="outbox")

# Wide enough for the tables when output goes to a file or a CI log, not a terminal.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # librdkafka's own retries (coordinator still loading, ...) are noise at a prompt.
    logging.getLogger("paysim.librdkafka").setLevel(logging.DEBUG if verbose else logging.ERROR)


def _fail(exc: PaysimError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=1)


@infra_app.command("up")
def infra_up(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Start the broker and stripe-mock (or reuse the running ones) and create the topics."""
    from paysim import infra

    try:
        with err_console.status("starting Kafka and stripe-mock..."):
            endpoints = infra.up(Settings())
    except PaysimError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(
            json.dumps(
                {
                    "backend": endpoints.backend,
                    "bootstrap_servers": endpoints.bootstrap_servers,
                    "stripe_api_base": endpoints.stripe_api_base,
                }
            )
        )
    else:
        console.print(f"backend            {endpoints.backend}")
        console.print(f"bootstrap servers  {endpoints.bootstrap_servers}")
        console.print(f"stripe-mock        {endpoints.stripe_api_base}")


@infra_app.command("down")
def infra_down() -> None:
    """Stop the stack that `infra up` started."""
    from paysim import infra

    try:
        stopped = infra.down(Settings())
    except PaysimError as exc:
        raise _fail(exc) from exc
    console.print("stopped" if stopped else "nothing was running")


@infra_app.command("status")
def infra_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Is a stack recorded, running and healthy?"""
    from paysim import infra

    st = infra.status(Settings())
    data = {
        "running": st.running,
        "healthy": st.healthy,
        "backend": st.backend,
        "bootstrap_servers": st.endpoints.bootstrap_servers if st.endpoints else None,
        "stripe_api_base": st.endpoints.stripe_api_base if st.endpoints else None,
        "pids": st.pids,
    }
    if as_json:
        print(json.dumps(data))
        return
    for key, value in data.items():
        console.print(f"{key:<18} {value}")


@app.command("up")
def stack_up(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Infrastructure plus the services; prints where everything answers."""
    from paysim import infra
    from paysim.infra import service_launcher

    settings = Settings()
    try:
        with err_console.status("starting Kafka, stripe-mock and the services..."):
            endpoints = infra.up(settings)
            urls = service_launcher.up(settings, endpoints)
    except PaysimError as exc:
        raise _fail(exc) from exc
    data = {
        "bootstrap_servers": endpoints.bootstrap_servers,
        "stripe_api_base": endpoints.stripe_api_base,
        **urls.model_dump(),
    }
    if as_json:
        print(json.dumps(data))
        return
    for key, value in data.items():
        console.print(f"{key:<18} {value}")


@app.command("down")
def stack_down() -> None:
    """Stop the services and the infrastructure."""
    from paysim import infra
    from paysim.infra import service_launcher

    settings = Settings()
    try:
        services = service_launcher.down(settings)
        stack = infra.down(settings)
    except PaysimError as exc:
        raise _fail(exc) from exc
    console.print("stopped" if services or stack else "nothing was running")


notifications_app = typer.Typer(help="What customers were told.", no_args_is_help=True)
app.add_typer(notifications_app, name="notifications")


@notifications_app.command("list")
def notifications_list(
    order_id: Annotated[int | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The emails, SMS and pushes the notification service recorded, newest first."""
    from paysim.bootstrap.common import default_db_url
    from paysim.services.notification.repository import list_notifications

    found = list_notifications(default_db_url(Settings(), "notification"), order_id, limit)
    views = [n.view() for n in found]
    if as_json:
        print(json.dumps(views, default=str))
        return
    table = Table("sent at", "order", "user", "channel", "template", "text")
    for view in views:
        table.add_row(
            str(view["sentAt"])[:19],
            str(view.get("orderId")),
            str(view.get("userId") or ""),
            str(view.get("channel")),
            str(view.get("template")),
            str(view.get("text")),
        )
    console.print(table)


@app.command()
def doctor() -> None:
    """What is installed, what is missing, and which backend would be used."""
    from paysim.doctor import diagnose

    report = diagnose(Settings())
    table = Table("check", "status", "detail")
    for check in report.checks:
        table.add_row(check.name, "[green]ok[/]" if check.ok else "[red]missing[/]", check.detail)
    console.print(table)
    console.print(f"backend that would be used: [bold]{report.backend}[/]")
    if report.problem:
        err_console.print(f"[bold red]problem:[/] {report.problem}")
        raise typer.Exit(code=1)


@topics_app.command("create")
def topics_create() -> None:
    """Create every topic of the catalog that the broker does not have yet."""
    from paysim import infra
    from paysim.bus.admin import ensure_topics

    try:
        endpoints = infra.up(Settings())
        created = ensure_topics(endpoints.bootstrap_servers)
    except PaysimError as exc:
        raise _fail(exc) from exc
    console.print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")


@topics_app.command("list")
def topics_list() -> None:
    """Topics on the broker with their partition counts."""
    from paysim import infra
    from paysim.bus.admin import partition_counts

    st = infra.status(Settings())
    if st.endpoints is None or not st.healthy:
        raise _fail(PaysimError("no healthy stack; run `paysim infra up` first"))
    table = Table("topic", "partitions")
    for name, count in sorted(partition_counts(st.endpoints.bootstrap_servers).items()):
        table.add_row(name, str(count))
    console.print(table)


@schema_app.command("export")
def schema_export(
    out: Annotated[Path, typer.Option("--out", help="folder to write into")] = Path("schema-out"),
) -> None:
    """Write JSON Schema files and an AsyncAPI 3.0 document."""
    from paysim.schema_export import export

    for path in export(out):
        console.print(f"wrote {path}")


@app.command()
def demo(
    checkouts: Annotated[int, typer.Option(min=1, max=5000)] = 200,
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 8,
    keep_running: Annotated[bool, typer.Option(help="leave the stack up afterwards")] = False,
) -> None:
    """The main job: a simulated checkout run on the real stack, ending in a report."""
    from paysim.sim.demo import run

    try:
        report = run(
            console,
            Settings(),
            checkouts=checkouts,
            concurrency=concurrency,
            keep_running=keep_running,
        )
    except PaysimError as exc:
        raise _fail(exc) from exc
    if not report.ok:
        raise typer.Exit(code=1)
