"""The ``paysim`` command."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

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


def _show(data: Mapping[str, object], as_json: bool) -> None:
    """``data`` as one JSON object, or as aligned ``key value`` lines for a person."""
    if as_json:
        print(json.dumps(data))
        return
    for key, value in data.items():
        console.print(f"{key:<18} {value}")


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
    _show(data, as_json)


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
    _show(data, as_json)


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


@app.command()
def bench(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    quick: Annotated[bool, typer.Option(help="small and fast: for tests and notebooks")] = False,
    repeat: Annotated[int | None, typer.Option(min=1, max=10)] = None,
    hot_path_events: Annotated[int | None, typer.Option(min=100, max=1_000_000)] = None,
    hot_path_max_s: Annotated[float | None, typer.Option(min=5, max=3600)] = None,
    window_s: Annotated[float | None, typer.Option(min=2, max=600)] = None,
    saga_budget_s: Annotated[
        float | None, typer.Option(min=1, max=120, help="workers = rate x this")
    ] = None,
    lag_pause_s: Annotated[float | None, typer.Option(min=2, max=600)] = None,
    lag_rate: Annotated[
        float | None, typer.Option(min=0.5, max=500, help="payments/s; default: half the sustained")
    ] = None,
    budget_s: Annotated[
        float | None, typer.Option(min=60, max=7200, help="repetitions stop past this")
    ] = None,
    history: Annotated[Path | None, typer.Option(help="JSON-lines file to append to")] = None,
) -> None:
    """Throughput, latency, CPU and memory figures, measured in one run on the real stack."""
    from dataclasses import replace

    from paysim.bench.runner import BenchOptions, default_history, run, with_history
    from paysim.bench.table import render

    options = BenchOptions.quick() if quick else BenchOptions()
    given: dict[str, Any] = {
        "repeat": repeat,
        "hot_path_events": hot_path_events,
        "hot_path_max_s": hot_path_max_s,
        "window_s": window_s,
        "saga_budget_s": saga_budget_s,
        "lag_pause_s": lag_pause_s,
        "lag_rate_per_s": lag_rate,
        "budget_s": budget_s,
    }
    options = replace(options, **{k: v for k, v in given.items() if v is not None})
    settings = Settings()
    try:
        result = run(options, settings, err_console)
    except PaysimError as exc:
        raise _fail(exc) from exc
    result = with_history(result, history or default_history(settings))
    if as_json:
        print(json.dumps(result))
        return
    render(result, console)
    console.print(f"appended to {result['history']}")
