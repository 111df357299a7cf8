"""The benchmark's result as a table for a person; the JSON is for machines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

ROWS = (
    ("kafka_raw_relay_per_s", "raw Kafka consume→produce (baseline)", "records/s"),
    ("hot_path_per_s", "order service hot path", "records/s"),
    ("hot_path_records", "  records the hot path handled", "records"),
    ("hot_path_ratio", "hot path / raw", ""),
    ("saga_sustained_per_s", "sustained open-loop saga rate", "sagas/s"),
    ("saga_p50_ms", "confirm → PENDING p50", "ms"),
    ("saga_p99_ms", "confirm → PENDING p99", "ms"),
    ("saga_latency_rate_per_s", "  latency measured at", "sagas/s"),
    ("cpu_ms_per_saga", "CPU per saga, every process", "ms"),
    ("lag_drain_ratio", "lag drain rate / arrival rate", ""),
    ("lag_drain_arrival_per_s", "  arrival rate during the pause", "payments/s"),
    ("infra_up_warm_s", "infra up, warm", "s"),
    ("infra_up_cold_s", "infra up, first in the run folder", "s"),
    ("services_up_s", "services up, all healthy", "s"),
    ("stack_rss_mib", "idle stack resident memory", "MiB"),
)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def _spread(result: Mapping[str, Any], key: str) -> str:
    spread = result.get(f"{key}_spread")
    return f"{_number(spread[0])} … {_number(spread[1])}" if spread else ""


def render(result: Mapping[str, Any], console: Console) -> None:
    table = Table(
        "figure",
        "median",
        "min … max",
        "unit",
        title=f"paysim bench at {result.get('git_sha')} on {result.get('cores')} cores",
    )
    for key, label, unit in ROWS:
        table.add_row(label, _number(result.get(key)), _spread(result, key), unit)
    console.print(table)
    parts = Table("process", "CPU ms per saga", "idle RSS MiB", title="Per process")
    cpu = result.get("cpu_ms_per_saga_by_process") or {}
    rss = result.get("stack_rss_mib_by_process") or {}
    for name in sorted(set(cpu) | set(rss)):
        parts.add_row(name, _number(cpu.get(name)), _number(rss.get(name)))
    console.print(parts)
    trials = Table(
        "arrival/s",
        "sustained",
        "achieved/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/saga",
        "why not",
        title="Saga rate trials",
    )
    for trial in result.get("saga_trials") or []:
        trials.add_row(
            _number(trial["rate_per_s"]),
            "yes" if trial["sustained"] else "[red]no[/]",
            _number(trial["achieved_per_s"]),
            _number(trial["p50_ms"]),
            _number(trial["p99_ms"]),
            _number(trial["cpu_ms_per_saga"]),
            trial["why"],
        )
    console.print(trials)
    console.print(f"repetitions run: {result.get('repeats')}; took {result.get('seconds')} s")
