"""stripe-mock, built once from the Go module proxy with ``go install``, run on loopback."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

from paysim.config import Settings
from paysim.errors import InfraError
from paysim.infra import processes
from paysim.infra.toolchain import require_tool

log = logging.getLogger(__name__)

MODULE = "github.com/stripe/stripe-mock"
BUILD_TIMEOUT_S = 900


def binary_path(settings: Settings) -> Path:
    return (
        settings.cache_dir / f"stripe-mock-{settings.stripe_mock_version}" / "bin" / "stripe-mock"
    )


def build(settings: Settings) -> Path:
    """The stripe-mock binary, building it with ``go install`` if it is not there yet."""
    binary = binary_path(settings)
    if binary.exists():
        return binary
    go = require_tool("go")
    gopath = settings.cache_dir / "go"
    env = {
        **os.environ,
        "GOBIN": str(binary.parent),
        # A private module and build cache: a fresh machine and CI build from scratch,
        # and nothing in the user's own Go caches is relied upon or touched.
        "GOPATH": str(gopath),
        "GOMODCACHE": str(gopath / "mod"),
        "GOCACHE": str(gopath / "build"),
        "GOFLAGS": "-modcacherw -buildvcs=false",
    }
    log.info("building stripe-mock %s with go install", settings.stripe_mock_version)
    try:
        done = subprocess.run(
            [go, "install", f"{MODULE}@{settings.stripe_mock_version}"],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise InfraError(f"go install of stripe-mock took over {BUILD_TIMEOUT_S}s") from exc
    if done.returncode != 0 or not binary.exists():
        raise InfraError(
            f"could not build stripe-mock {settings.stripe_mock_version} "
            f"(go install exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    return binary


def start_stripe_mock(settings: Settings, run_dir: Path) -> tuple[processes.ProcessHandle, int]:
    """Start stripe-mock on a free loopback port; returns (process, port)."""
    binary = build(settings)
    port, https_port = processes.free_ports(2)
    handle = processes.spawn(
        "stripe-mock",
        # Both listeners pinned to loopback: left alone, HTTPS binds :12112 on every
        # interface and collides with any other stripe-mock on the machine.
        [str(binary), "-http-addr", f"127.0.0.1:{port}", "-https-addr", f"127.0.0.1:{https_port}"],
        run_dir / "stripe-mock" / "stripe-mock.log",
    )
    return handle, port
