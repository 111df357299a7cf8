"""``paysim serve ...``: one service in the foreground (what ``paysim up`` starts)."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from paysim.config import Settings

serve_app = typer.Typer(help="Run one service in the foreground.", no_args_is_help=True)


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logging.getLogger("paysim.librdkafka").setLevel(logging.WARNING)


@serve_app.command("payment")
def serve_payment(
    port: Annotated[int, typer.Option()],
    bootstrap_servers: Annotated[str, typer.Option()],
    stripe_api_base: Annotated[str, typer.Option(help="the Stripe emulator's URL")],
    db_url: Annotated[str | None, typer.Option(help="default: SQLite in the run folder")] = None,
    relay: Annotated[bool, typer.Option(help="run the outbox relay in this process")] = True,
    consumer: Annotated[bool, typer.Option(help="run the refund consumer")] = True,
) -> None:
    """The payment service: HTTP API, outbox relay, refund consumer."""
    from paysim.bootstrap.payment import build_process
    from paysim.bootstrap.serving import serve

    _logging()
    process = build_process(
        Settings(),
        bootstrap_servers=bootstrap_servers,
        stripe_api_base=stripe_api_base,
        db_url=db_url,
        with_relay=relay,
        with_consumer=consumer,
    )
    serve(process, Settings().serve_host, port)


@serve_app.command("order")
def serve_order(
    port: Annotated[int, typer.Option()],
    bootstrap_servers: Annotated[str, typer.Option()],
    payment_api: Annotated[str, typer.Option(help="the payment service's URL")],
    db_url: Annotated[str | None, typer.Option(help="default: SQLite in the run folder")] = None,
) -> None:
    """The order service: HTTP API, payment/delivery event consumer, relay, deadlines."""
    from paysim.bootstrap.order import build_process
    from paysim.bootstrap.serving import serve

    _logging()
    process = build_process(
        Settings(), bootstrap_servers=bootstrap_servers, payment_api=payment_api, db_url=db_url
    )
    serve(process, Settings().serve_host, port)


def _serve_simple(name: str, port: int, bootstrap_servers: str, db_url: str | None) -> None:
    from importlib import import_module

    from paysim.bootstrap.serving import serve

    _logging()
    builder = import_module(f"paysim.bootstrap.{name}")
    process = builder.build_process(Settings(), bootstrap_servers=bootstrap_servers, db_url=db_url)
    serve(process, Settings().serve_host, port)


@serve_app.command("delivery")
def serve_delivery(
    port: Annotated[int, typer.Option()],
    bootstrap_servers: Annotated[str, typer.Option()],
    db_url: Annotated[str | None, typer.Option(help="default: SQLite in the run folder")] = None,
) -> None:
    """The delivery service: simulated couriers driven by order events and timers."""
    _serve_simple("delivery", port, bootstrap_servers, db_url)


@serve_app.command("notification")
def serve_notification(
    port: Annotated[int, typer.Option()],
    bootstrap_servers: Annotated[str, typer.Option()],
    db_url: Annotated[str | None, typer.Option(help="default: SQLite in the run folder")] = None,
) -> None:
    """The notification service: the emails, SMS and pushes a customer would get."""
    _serve_simple("notification", port, bootstrap_servers, db_url)


@serve_app.command("analytics")
def serve_analytics(
    port: Annotated[int, typer.Option()],
    bootstrap_servers: Annotated[str, typer.Option()],
    db_url: Annotated[str | None, typer.Option(help="default: SQLite in the run folder")] = None,
) -> None:
    """The analytics service: success and refund rates, revenue by currency."""
    _serve_simple("analytics", port, bootstrap_servers, db_url)


@serve_app.command("relay")
def serve_relay(
    service: Annotated[str, typer.Option(help="whose outbox: payment, order, ...")],
    bootstrap_servers: Annotated[str, typer.Option()],
    db_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """A standalone outbox relay over one service's database."""
    from paysim.bootstrap.common import build_relay_process
    from paysim.bootstrap.serving import run_workers_only

    _logging()
    run_workers_only(
        build_relay_process(
            Settings(), service=service, bootstrap_servers=bootstrap_servers, db_url=db_url
        )
    )


@serve_app.command(
    "stripe-emulator",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def serve_stripe_emulator(ctx: typer.Context) -> None:
    """The Stripe test-mode emulator in front of stripe-mock (options: --help)."""
    from paysim.stripe_emulator.__main__ import main

    main(list(ctx.args))
