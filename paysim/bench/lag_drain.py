"""How fast the order service works off a backlog: paused under load, then let go.

Payments arrive at a fixed rate (open loop, through the payment API: create the intent,
confirm it) while the order service is frozen with SIGSTOP, consumer and all, for a
window; then it is resumed. The order group's lag (committed offsets against high
watermarks) grows by the arrival rate while frozen and shrinks by drain minus arrival after:

    drain rate = (lag at resume - lag at the end + arrivals during the drain) / drain time

and the figure is the drain rate over the arrival rate. The customers here only pay:
the frozen service's own API would not answer them, and the saga's deadlines settle
what they leave behind.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import httpx
import psutil

from paysim.config import Settings
from paysim.infra.service_launcher import ServiceUrls, process_of
from paysim.observe.lag import consumer_lag
from paysim.services.order import event_reactions
from paysim.sim.open_loop import OpenLoopRun, pool_size, run_open_loop
from paysim.sim.scenarios import CheckoutPlan

TIMEOUT = httpx.Timeout(15.0)
WARMUP_S = 3.0
LAG_POLL_S = 0.5
DRAINED_SLACK_S = 1.0
"""Drained: the lag is back within this many seconds of arrivals of where it started."""


@dataclass(frozen=True, slots=True)
class LagDrain:
    arrival_rate_per_s: float
    """Records per second reaching the order group's topics while it was frozen."""
    lag_at_resume: int
    lag_at_end: int
    drain_s: float
    drained: bool

    @property
    def drain_rate_per_s(self) -> float:
        worked_off = self.lag_at_resume - self.lag_at_end
        return (worked_off + self.arrival_rate_per_s * self.drain_s) / max(self.drain_s, 1e-3)

    @property
    def ratio(self) -> float:
        rate = self.arrival_rate_per_s
        return self.drain_rate_per_s / rate if rate > 0 else 0.0


def pay(payment_api: str, plan: CheckoutPlan) -> bool:
    """A customer who only pays: the intent, then its confirmation with a good card."""
    with httpx.Client(timeout=TIMEOUT) as client:
        created = client.post(
            f"{payment_api}/api/payments/create-intent",
            json={
                "userId": plan.user_id,
                "amountMinor": plan.amount.minor,
                "currency": plan.amount.currency,
            },
            headers={"Idempotency-Key": f"bench-lag-{plan.number}-{uuid.uuid4()}"},
        )
        if created.status_code != 201:
            return False
        confirmed = client.post(
            f"{payment_api}/api/payments/{created.json()['paymentId']}/confirm",
            json={"paymentMethodId": plan.card},
        )
        return confirmed.status_code == 200


def _order_lag(bootstrap_servers: str) -> int:
    lags = consumer_lag(bootstrap_servers, [event_reactions.GROUP], topics=event_reactions.TOPICS)
    return sum(p.lag for p in lags)


def measure(
    settings: Settings,
    bootstrap_servers: str,
    urls: ServiceUrls,
    *,
    rate_per_s: float,
    pause_s: float,
    seed: int,
) -> LagDrain:
    order = psutil.Process(process_of(settings, "order").pid)
    arrivals: list[OpenLoopRun[bool]] = []
    window_s = WARMUP_S + 2 * pause_s  # arrivals go on while the backlog drains

    def arrive() -> None:
        arrivals.append(
            run_open_loop(
                lambda plan: pay(urls.payment_api, plan),
                rate_per_s=rate_per_s,
                window_s=window_s,
                workers=pool_size(rate_per_s, 10.0),
                seed=seed,
                stop_on_miss=False,
            )
        )

    load = threading.Thread(target=arrive, name="lag-drain-arrivals", daemon=True)
    load.start()
    try:
        time.sleep(WARMUP_S)
        base = _order_lag(bootstrap_servers)
        order.suspend()
        time.sleep(pause_s)
        at_resume = _order_lag(bootstrap_servers)
        order.resume()
        resumed = time.monotonic()
        arrival = max(0, at_resume - base) / pause_s
        deadline = resumed + pause_s
        lag = at_resume
        while time.monotonic() < deadline:
            time.sleep(LAG_POLL_S)
            lag = _order_lag(bootstrap_servers)
            if lag <= base + arrival * DRAINED_SLACK_S:
                break
        drain_s = time.monotonic() - resumed
        return LagDrain(arrival, at_resume, lag, drain_s, lag <= base + arrival * DRAINED_SLACK_S)
    finally:
        order.resume()
        load.join(timeout=window_s + 120)
