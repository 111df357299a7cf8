"""``paysim demo``: the main job. A full simulated checkout run on the real stack.

Kafka and stripe-mock, the Stripe emulator and every service are brought up (or the
running ones reused), a seeded mix of checkouts is driven through the HTTP APIs, the run
waits for every saga to settle, and a report ends it. The exit code says whether the
invariants held.
"""

from __future__ import annotations

from rich.console import Console

from paysim import infra
from paysim.config import Settings
from paysim.infra import service_launcher
from paysim.sim.checkout_run import run_checkouts
from paysim.sim.report import RunReport, render


def run(
    console: Console,
    settings: Settings,
    *,
    checkouts: int = 200,
    concurrency: int = 8,
    keep_running: bool = False,
) -> RunReport:
    already_running = (
        infra.status(settings).healthy and service_launcher.status(settings) is not None
    )
    with console.status("starting Kafka, stripe-mock, the Stripe emulator and the services..."):
        endpoints = infra.up(settings)
        urls = service_launcher.up(settings, endpoints)
    console.print(
        f"[bold]stack[/] {endpoints.backend}: Kafka {endpoints.bootstrap_servers}, "
        f"stripe-mock {endpoints.stripe_api_base}"
    )
    for name, url in urls.model_dump().items():
        console.print(f"  {name:<16} {url}")
    try:
        report = run_checkouts(
            endpoints,
            urls,
            count=checkouts,
            seed=settings.seed,
            concurrency=concurrency,
            console=console,
        )
        render(report, console)
        return report
    finally:
        if not (already_running or keep_running):
            with console.status("stopping..."):
                service_launcher.down(settings)
                infra.down(settings)
