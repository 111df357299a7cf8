"""``paysim doctor``: what is installed, what is missing, which backend would run."""

from __future__ import annotations

from dataclasses import dataclass, field

from paysim.config import Settings
from paysim.errors import InfraError
from paysim.infra import kafka_native, stripe_mock_native
from paysim.infra.docker_backend import docker_engine_answers
from paysim.infra.selection import backend_for
from paysim.infra.toolchain import find_tool, java_major


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Diagnosis:
    backend: str
    checks: list[Check] = field(default_factory=list)
    problem: str | None = None


def diagnose(settings: Settings) -> Diagnosis:
    engine = docker_engine_answers()
    try:
        backend: str = backend_for(settings, lambda: engine)
        problem = None
    except InfraError as exc:
        backend, problem = "none", str(exc)
    checks = [Check("docker engine", engine, "answers a ping" if engine else "no engine answers")]
    for name in ("java", "mvn", "go"):
        tool = find_tool(name)
        checks.append(Check(name, tool.found, tool.version or "not on the PATH"))
    major = java_major(find_tool("java").version)
    if major is not None and major < kafka_native.MIN_JAVA:
        checks.append(Check("java version", False, f"{major} < {kafka_native.MIN_JAVA}"))
    jars = kafka_native.kafka_home(settings) / ".complete"
    checks.append(
        Check(
            f"kafka {settings.kafka_version} jars",
            jars.exists(),
            str(jars.parent) if jars.exists() else "resolved with mvn on first `infra up`",
        )
    )
    binary = stripe_mock_native.binary_path(settings)
    checks.append(
        Check(
            f"stripe-mock {settings.stripe_mock_version}",
            binary.exists(),
            str(binary) if binary.exists() else "built with go install on first `infra up`",
        )
    )
    if backend == "native" and problem is None:
        missing = [c.name for c in checks if c.name in ("java", "mvn", "go") and not c.ok]
        if missing:
            problem = f"the native backend needs {', '.join(missing)}"
    return Diagnosis(backend=backend, checks=checks, problem=problem)
