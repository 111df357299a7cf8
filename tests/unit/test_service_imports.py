"""A service process imports only what it serves: no notebook libraries.

pandas, numpy and matplotlib cost a service tens of MiB resident for frames and plots only
notebooks draw. Each service is imported the way ``paysim serve <name>`` imports it (the
CLI, the service's composition root, its HTTP app and the server), in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

NOTEBOOK_ONLY = ("pandas", "numpy", "matplotlib")
SERVICES = ("payment", "order", "delivery", "notification", "analytics")

PROBE = """
import importlib, sys
forbidden, *modules = sys.argv[1:]
for module in modules:
    importlib.import_module(module)
print(" ".join(sorted({name.split(".")[0] for name in sys.modules} & set(forbidden.split(",")))))
"""


def _loaded(*modules: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(NOTEBOOK_ONLY), *modules],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.split()


def test_no_service_process_imports_a_notebook_library() -> None:
    # All in one interpreter (none may load them, so the union must be empty): one
    # interpreter start instead of six.
    chains = [
        module
        for service in SERVICES
        for module in (f"paysim.bootstrap.{service}", f"paysim.api.{service}_api")
    ]
    assert _loaded("paysim.cli", "paysim.bootstrap.serving", *chains) == []


def test_the_emulator_process_imports_no_notebook_library() -> None:
    assert _loaded("paysim.stripe_emulator.server") == []


def test_the_probe_sees_a_notebook_library() -> None:
    assert _loaded("paysim.observe.frames") != []
