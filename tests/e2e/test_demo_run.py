"""The demo's checkout run on the real stack: a seeded mix of every scenario, and the
invariants over it."""

from __future__ import annotations

from rich.console import Console

from paysim.infra import Endpoints
from paysim.infra.service_launcher import ServiceUrls
from paysim.sim.checkout_run import run_checkouts
from paysim.sim.scenarios import Scenario


def test_a_seeded_checkout_run_settles_and_every_invariant_holds(
    services: ServiceUrls, endpoints: Endpoints
) -> None:
    console = Console(record=True, width=160)
    report = run_checkouts(endpoints, services, count=40, seed=7, concurrency=6, console=console)
    assert report.errors == []
    assert report.unexpected == []
    assert [v.name for v in report.verdicts if not v.ok] == []
    assert set(report.by_scenario["scenario"]) >= {s.value for s in Scenario} - {
        Scenario.RESTAURANT_REJECTS.value
    }
    assert report.final_states["DELIVERED"] > 0
    assert report.latency_ms.loc["confirm → PENDING", "n"] > 0
