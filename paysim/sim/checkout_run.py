"""A simulated checkout run against the running services: plan, drive, settle, report."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from paysim.infra import Endpoints
from paysim.infra.service_launcher import ServiceUrls
from paysim.sim import run_facts
from paysim.sim.driver import CheckoutDriver, CheckoutOutcome
from paysim.sim.report import RunReport, build_report
from paysim.sim.run_facts import RunFacts
from paysim.sim.scenarios import plan_checkouts
from paysim.stripe_emulator.client import EmulatorAdmin

log = logging.getLogger(__name__)

SETTLE_TIMEOUT_S = 120.0


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def drive(
    urls: ServiceUrls, count: int, seed: int, concurrency: int, console: Console
) -> list[CheckoutOutcome]:
    plans = plan_checkouts(count, seed)
    driver = CheckoutDriver(urls.payment_api, urls.order_api)
    outcomes: list[CheckoutOutcome] = []
    try:
        with _progress(console) as progress, ThreadPoolExecutor(concurrency) as pool:
            task = progress.add_task("checkouts", total=len(plans))
            for future in as_completed([pool.submit(driver.run, plan) for plan in plans]):
                outcomes.append(future.result())
                progress.advance(task)
    finally:
        driver.close()
    return sorted(outcomes, key=lambda o: o.plan.number)


def settle(
    endpoints: Endpoints,
    urls: ServiceUrls,
    order_ids: list[int],
    console: Console,
    timeout_s: float = SETTLE_TIMEOUT_S,
) -> RunFacts:
    """Wait until nothing is in flight (or the time is up); the facts either way."""
    with (
        EmulatorAdmin(urls.stripe_emulator, urls.admin_token, timeout=30.0) as emulator,
        console.status("waiting for every saga to settle...") as status,
    ):
        gather = partial(
            run_facts.gather,
            bootstrap_servers=endpoints.bootstrap_servers,
            payment_api=urls.payment_api,
            order_api=urls.order_api,
            emulator=emulator,
            publishing_services=urls.publishing(),
            order_ids=order_ids,
        )
        return run_facts.wait_drained(
            gather, timeout_s, lambda left: status.update(f"waiting to settle: {left}")
        )


def run_checkouts(
    endpoints: Endpoints,
    urls: ServiceUrls,
    *,
    count: int,
    seed: int,
    concurrency: int,
    console: Console,
) -> RunReport:
    started = time.monotonic()
    outcomes = drive(urls, count, seed, concurrency, console)
    order_ids = [o.order_id for o in outcomes if o.order_id is not None]
    facts = settle(endpoints, urls, order_ids, console)
    histories = {i: run_facts.order_history(urls.order_api, i) for i in order_ids}
    return build_report(outcomes, facts, histories, time.monotonic() - started)
