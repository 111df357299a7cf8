"""The run's report: what happened, how fast, and whether the invariants held."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from rich.console import Console
from rich.table import Table

from paysim.domain.invariants import (
    Charge,
    OrderRecord,
    PaymentRecord,
    Refund,
    Verdict,
    check_run,
)
from paysim.domain.money import Money
from paysim.domain.status import OrderStatus, PaymentStatus
from paysim.sim.driver import CheckoutOutcome
from paysim.sim.run_facts import RunFacts
from paysim.sim.scenarios import FINAL_STATUS
from paysim.topics import CATALOG

PERCENTILES = (0.5, 0.9, 0.99, 1.0)


@dataclass
class RunReport:
    checkouts: int
    seconds: float
    final_states: Counter[str]
    by_scenario: pd.DataFrame
    latency_ms: pd.DataFrame
    topic_records: dict[str, int]
    dead_letters: int
    verdicts: list[Verdict]
    errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts) and not self.errors and not self.unexpected


def payment_records(facts: RunFacts) -> list[PaymentRecord]:
    records = []
    for p in facts.payments:
        intent, currency = p["stripePaymentIntentId"], p["currency"]
        charges = (
            tuple(
                Charge(c.id, Money(c.amount_captured or c.amount, currency))
                for c in facts.ledger.succeeded_charges_for(intent)
            )
            if intent
            else ()
        )
        refunds = (
            tuple(
                Refund(r.id, Money(r.amount, currency))
                for r in facts.ledger.refunds_for(intent)
                if r.status in ("succeeded", "pending")
            )
            if intent
            else ()
        )
        records.append(
            PaymentRecord(
                p["paymentId"], p["orderId"], PaymentStatus(p["status"]), currency, charges, refunds
            )
        )
    return records


def order_records(facts: RunFacts) -> list[OrderRecord]:
    status_of = {p["paymentId"]: PaymentStatus(p["status"]) for p in facts.payments}
    return [
        OrderRecord(
            o["orderId"], OrderStatus(o["status"]), o["paymentId"], status_of.get(o["paymentId"])
        )
        for o in facts.orders
    ]


def entered_at(history: list[dict[str, str | bool]], status: str) -> datetime | None:
    """When an audit history (an order's or a payment's) first moved into ``status``."""
    entered = [h["at"] for h in history if h["to"] == status and h["applied"]]
    return datetime.fromisoformat(str(entered[0])) if entered else None


def _ms(start: datetime | None, history: list[dict[str, str | bool]], status: str) -> float | None:
    entered = entered_at(history, status)
    if start is None or entered is None:
        return None
    return (entered - start).total_seconds() * 1000


def latency_table(
    outcomes: list[CheckoutOutcome], histories: dict[int, list[dict[str, str | bool]]]
) -> pd.DataFrame:
    rows = {"confirm → PENDING": [], "confirm → DELIVERED": []}  # type: dict[str, list[float]]
    for out in outcomes:
        history = histories.get(out.order_id or -1, [])
        for label, status in (
            ("confirm → PENDING", "PENDING"),
            ("confirm → DELIVERED", "DELIVERED"),
        ):
            value = _ms(out.confirmed_at, history, status)
            if value is not None:
                rows[label].append(value)
    table = {
        label: {
            **{f"p{int(q * 100)}": pd.Series(values).quantile(q) for q in PERCENTILES},
            "n": len(values),
        }
        for label, values in rows.items()
        if values
    }
    return pd.DataFrame(table).T.rename(columns={"p100": "max"})


def build_report(
    outcomes: list[CheckoutOutcome],
    facts: RunFacts,
    histories: dict[int, list[dict[str, str | bool]]],
    seconds: float,
) -> RunReport:
    status_of = {o["orderId"]: o["status"] for o in facts.orders}
    scenario_rows = [
        {
            "scenario": out.plan.scenario.value,
            "expected": FINAL_STATUS[out.plan.scenario],
            "final": status_of.get(out.order_id or -1, "missing"),
        }
        for out in outcomes
    ]
    by_scenario = pd.DataFrame(scenario_rows)
    unexpected = [
        f"checkout {out.plan.number} ({out.plan.scenario}): order {out.order_id} ended "
        f"{row['final']}, expected {row['expected']}"
        for out, row in zip(outcomes, scenario_rows, strict=True)
        if out.error is None and row["final"] != row["expected"]
    ]
    dlq = {t.name for t in CATALOG if t.name.endswith("-dlq")}
    return RunReport(
        checkouts=len(outcomes),
        seconds=seconds,
        final_states=Counter(status_of.values()),
        by_scenario=by_scenario,
        latency_ms=latency_table(outcomes, histories),
        topic_records=facts.topic_records,
        dead_letters=sum(n for t, n in facts.topic_records.items() if t in dlq),
        # Judged as drained even if the wait for it ran out: what is still in flight
        # then fails its own invariant, with the counts that say what is stuck.
        verdicts=check_run(
            payment_records(facts), order_records(facts), facts.in_flight, drained=True
        ),
        errors=[f"checkout {o.plan.number}: {o.error}" for o in outcomes if o.error],
        unexpected=unexpected,
    )


def render(report: RunReport, console: Console) -> None:
    console.rule(f"[bold]paysim run: {report.checkouts} checkouts in {report.seconds:.1f} s")
    states = Table("final order status", "orders", title="Where the orders ended")
    for status, count in report.final_states.most_common():
        states.add_row(status, str(count))
    console.print(states)

    mix = Counter(
        (r["scenario"], r["expected"], r["final"]) for r in report.by_scenario.to_dict("records")
    )
    scenarios = Table("scenario", "expected", "final", "orders", title="Checkout mix")
    for (scenario, expected, final), count in sorted(mix.items()):
        style = "" if expected == final else "red"
        scenarios.add_row(scenario, expected, final, str(count), style=style)
    console.print(scenarios)

    latency = Table(
        "latency (ms)",
        *[str(c) for c in report.latency_ms.columns],
        title="From payment confirmation to the order's milestones",
    )
    for label, row in report.latency_ms.iterrows():
        latency.add_row(str(label), *[f"{v:.0f}" for v in row.to_list()])
    console.print(latency)

    topics = Table("topic", "records", title="Events per topic")
    for topic, count in sorted(report.topic_records.items()):
        topics.add_row(
            topic, str(count), style="yellow" if topic.endswith("-dlq") and count else ""
        )
    console.print(topics)
    console.print(f"dead letters: [bold]{report.dead_letters}[/]")

    for verdict in report.verdicts:
        colour = "green" if verdict.ok else "red"
        console.print(f"[{colour}]{verdict}[/]")
    for problem in report.errors + report.unexpected:
        console.print(f"[red]{problem}[/]")
    console.print(
        "[bold green]all invariants hold[/]" if report.ok else "[bold red]the run FAILED[/]"
    )
