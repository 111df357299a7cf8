"""`paysim infra` as a user runs it: a second stack of its own, up, reused, down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil

from paysim.infra.processes import port_accepts


def _paysim(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paysim", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _ports(data: dict[str, str]) -> list[int]:
    return [
        int(data["bootstrap_servers"].rsplit(":", 1)[1]),
        int(data["stripe_api_base"].rsplit(":", 1)[1]),
    ]


def test_up_reuses_and_down_leaves_nothing_running(tmp_path: Path) -> None:
    env = {**os.environ, "PAYSIM_RUN_DIR": str(tmp_path / "run"), "PAYSIM_INFRA": "native"}
    first = _paysim(["infra", "up", "--json"], env)
    assert first.returncode == 0, first.stderr
    endpoints = json.loads(first.stdout)
    assert set(endpoints) >= {"bootstrap_servers", "stripe_api_base"}

    second = _paysim(["infra", "up", "--json"], env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == endpoints

    status = json.loads(_paysim(["infra", "status", "--json"], env).stdout)
    assert status["healthy"] is True
    pids = list(status["pids"].values())
    assert len(pids) == 2
    assert all(port_accepts(port) for port in _ports(endpoints))

    down = _paysim(["infra", "down"], env)
    assert down.returncode == 0, down.stderr
    assert not any(psutil.pid_exists(pid) for pid in pids)
    assert not any(port_accepts(port) for port in _ports(endpoints))
    assert json.loads(_paysim(["infra", "status", "--json"], env).stdout)["running"] is False


def test_missing_toolchain_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PAYSIM_CACHE_DIR": str(tmp_path / "empty-cache"),
        "PAYSIM_INFRA": "native",
        "PATH": str(Path(sys.executable).parent),
    }
    result = _paysim(["infra", "up"], env)
    assert result.returncode == 1
    assert "`mvn` is not on the PATH" in result.stderr
    assert "Traceback" not in result.stderr
