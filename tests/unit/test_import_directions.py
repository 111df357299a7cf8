"""Imports point the way the layers say: every module's imports read with ``ast``.

The picture, top to bottom; a module imports only its own layer and the layers
``MAY_IMPORT`` lists for it, so nothing points back up:

    entry points   cli, cli_dlq, cli_outbox, cli_serve, lab, __main__, loadtests, bench
    workload       sim: the checkouts that the demo, the lab and the load runs drive
    composition    bootstrap: builds clients, wires services, serves a process
    http           api: the services' FastAPI apps
    services       payment, order, delivery, notification, analytics
    ports          bus (Kafka), store (SQLAlchemy, outbox), gateway (Stripe)
    shared         config, stack_secrets, codec, topics, schema_export, the package itself,
                   api.admin_access (the admin-token guard the emulator uses too)
    metrics        the plan's Prometheus metrics: anything may count into them
    domain         pure rules (its purity is test_domain_purity's)
    errors         the one root error

Beside them, not under the services: infra (Kafka and stripe-mock, the service
launcher, doctor), observe (notebook-side readers: they read the bus, the emulator and the
services' HTTP APIs, never a service's tables) and stripe_emulator (its own process).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("paysim", "loadtests")

# Module prefix -> layer; the longest prefix that matches a module decides.
LAYERS: dict[str, str] = {
    "paysim.cli": "entry",
    "paysim.cli_dlq": "entry",
    "paysim.cli_outbox": "entry",
    "paysim.cli_serve": "entry",
    "paysim.lab": "entry",
    # ``paysim bench``: wires the order service's real consumer in-process, like a service.
    "paysim.bench": "entry",
    "paysim.__main__": "entry",
    "loadtests": "entry",
    "paysim.sim": "workload",
    "paysim.bootstrap": "composition",
    "paysim.api": "http",
    # The admin-token guard of the testbench controls: the services' apps and the
    # emulator's both use it, and it imports nothing of paysim's.
    "paysim.api.admin_access": "shared",
    "paysim.services": "services",
    "paysim.bus": "ports",
    "paysim.store": "ports",
    "paysim.gateway": "ports",
    "paysim.infra": "infra",
    "paysim.doctor": "infra",
    "paysim.observe": "observe",
    "paysim.stripe_emulator": "stripe_emulator",
    "paysim": "shared",
    "paysim.config": "shared",
    "paysim.codec": "shared",
    "paysim.topics": "shared",
    "paysim.schema_export": "shared",
    "paysim.metrics": "metrics",
    "paysim.domain": "domain",
    "paysim.errors": "errors",
}
BOTTOM = {"shared", "metrics", "domain", "errors"}
# Layer -> the other layers it may import.
MAY_IMPORT: dict[str, set[str]] = {
    "entry": {
        "workload",
        "composition",
        "http",
        "services",
        "ports",
        "infra",
        "observe",
        "stripe_emulator",
        *BOTTOM,
    },
    "workload": {"infra", "observe", "stripe_emulator", "ports", *BOTTOM},
    # observe: the consumer-lag exporter a service process runs beside its consumers.
    "composition": {"http", "services", "ports", "observe", *BOTTOM},
    "http": {"services", *BOTTOM},
    "services": {"ports", *BOTTOM},
    "ports": {*BOTTOM},
    "infra": {"ports", *BOTTOM},
    "observe": {"infra", "ports", "stripe_emulator", *BOTTOM},
    "stripe_emulator": {"shared", "domain", "errors"},
    "shared": {"domain", "errors"},
    "metrics": {"domain"},
    "domain": {"errors"},
    "errors": set(),
}
# Libraries that belong to one adapter: only these module prefixes (and entry points)
# may import them.
LIBRARY_HOMES: dict[str, tuple[str, ...]] = {
    "stripe": ("paysim.gateway",),
    "sqlalchemy": ("paysim.store", "paysim.services", "paysim.bootstrap"),
    "fastapi": ("paysim.api", "paysim.bootstrap", "paysim.stripe_emulator"),
    "starlette": ("paysim.api", "paysim.bootstrap", "paysim.stripe_emulator"),
    "uvicorn": ("paysim.bootstrap", "paysim.stripe_emulator"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = _modules()


def _imports(module: str, path: Path) -> list[str]:
    """Every module ``module`` imports, at any depth of its code (a lazy import counts)."""
    return sorted(set(_imported(module, path)))


def _imported(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from paysim.infra import service_launcher`` imports a module, not a name.
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in MODULES else base


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(f"{prefix}.")


def _layer(module: str) -> str | None:
    matches = [p for p in LAYERS if _under(module, p)]
    return LAYERS[max(matches, key=len)] if matches else None


def _own(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in PACKAGES


def test_every_module_has_a_layer() -> None:
    assert "paysim.services.payment.service" in MODULES, "no modules found"
    assert [m for m in MODULES if _layer(m) is None] == []
    assert set(MAY_IMPORT) == set(LAYERS.values())


def test_imports_point_the_way_the_layers_allow() -> None:
    wrong = []
    for module, path in MODULES.items():
        layer = _layer(module)
        assert layer is not None
        for imported in _imports(module, path):
            target = _layer(imported) if _own(imported) else None
            if target is not None and target != layer and target not in MAY_IMPORT[layer]:
                wrong.append(f"{module} ({layer}) imports {imported} ({target})")
    assert wrong == [], "\n".join(wrong)


def test_libraries_stay_in_their_adapters() -> None:
    wrong = [
        f"{module} imports {imported}"
        for module, path in MODULES.items()
        for imported in _imports(module, path)
        if (homes := LIBRARY_HOMES.get(imported.split(".")[0])) is not None
        and not any(_under(module, home) for home in homes)
        and _layer(module) != "entry"
    ]
    assert wrong == [], "\n".join(wrong)


def test_the_http_layer_reads_no_tables_and_knows_no_gateway() -> None:
    """The APIs reach data through their service and see only the services' errors."""
    wrong = [
        f"{module} imports {imported}"
        for module, path in MODULES.items()
        if _under(module, "paysim.api")
        for imported in _imports(module, path)
        if imported.endswith(".tables") or _under(imported, "paysim.gateway")
    ]
    assert wrong == [], "\n".join(wrong)
