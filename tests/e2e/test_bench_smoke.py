"""``paysim bench --quick --json`` runs on the real stack and reports every figure.

A smoke test: the figures' values depend on the machine, so only their presence and
types are checked, never a threshold or a duration.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NUMBERS = (
    "kafka_raw_relay_per_s",
    "hot_path_per_s",
    "hot_path_ratio",
    "saga_sustained_per_s",
    "saga_latency_rate_per_s",
    "saga_p50_ms",
    "saga_p99_ms",
    "cpu_ms_per_saga",
    "lag_drain_ratio",
    "infra_up_warm_s",
    "stack_rss_mib",
)
PROCESSES = {"kafka", "stripe-mock", "stripe-emulator", "payment", "order", "load generator"}


def test_a_quick_bench_prints_every_figure_and_records_it(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "paysim", "bench", "--quick", "--json", "--history", str(history)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    for key in NUMBERS:
        assert isinstance(result[key], int | float), (key, result[key])
        assert result[key] >= 0, key
    for key in ("kafka_raw_relay_per_s", "hot_path_per_s", "lag_drain_ratio"):
        low, high = result[f"{key}_spread"]
        assert low <= result[key] <= high
    assert result["kafka_raw_relay_per_s"] > 0
    assert result["hot_path_per_s"] > 0
    assert isinstance(result["git_sha"], str)
    assert result["git_sha"]
    assert isinstance(result["cores"], int)
    assert result["cores"] >= 1
    assert set(result["cpu_ms_per_saga_by_process"]) >= PROCESSES
    assert set(result["stack_rss_mib_by_process"]) >= PROCESSES
    assert result["saga_trials"]
    assert json.loads(history.read_text().splitlines()[-1])["git_sha"] == result["git_sha"]
    assert result["history"] == str(history)
