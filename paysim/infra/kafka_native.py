"""Apache Kafka, single node in KRaft mode, from its Maven Central jars and the local JDK.

The jars are resolved once with ``mvn`` into the cache folder (a private local
repository, so nothing is borrowed from ``~/.m2``); each stack formats a fresh log
directory in its run folder and binds only to 127.0.0.1.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import uuid
from importlib import resources
from pathlib import Path

from paysim.config import Settings
from paysim.errors import InfraError
from paysim.infra import processes
from paysim.infra.toolchain import find_tool, java_major, require_tool

log = logging.getLogger(__name__)

MIN_JAVA = 17
RESOLVE_TIMEOUT_S = 900


def _resource(name: str) -> str:
    return resources.files("paysim.infra").joinpath("resources", name).read_text()


def kafka_home(settings: Settings) -> Path:
    return settings.cache_dir / f"kafka-{settings.kafka_version}"


def resolve_jars(settings: Settings) -> Path:
    """The folder of the broker's runtime jars, resolving them with Maven if needed."""
    home = kafka_home(settings)
    libs = home / "libs"
    if (home / ".complete").exists():
        return libs
    mvn = require_tool("mvn")
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_text(
        _resource("kafka-pom.xml").replace("@KAFKA_VERSION@", settings.kafka_version)
    )
    staging = home / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    log.info("resolving Kafka %s jars with Maven into %s", settings.kafka_version, home)
    try:
        done = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(home / "pom.xml"),
                f"-Dmaven.repo.local={settings.cache_dir / 'm2'}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            timeout=RESOLVE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise InfraError(f"Maven did not resolve Kafka within {RESOLVE_TIMEOUT_S}s") from exc
    if done.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        output = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise InfraError(
            f"Maven could not download Kafka {settings.kafka_version} "
            f"(exit {done.returncode}):\n{output}"
        )
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    (home / ".complete").touch()
    return libs


def _java() -> str:
    java = require_tool("java")
    major = java_major(find_tool("java").version)
    if major is not None and major < MIN_JAVA:
        raise InfraError(f"Kafka 4 needs Java {MIN_JAVA} or newer; `java` is {major}")
    return java


def cluster_id() -> str:
    """Kafka's Uuid text form: 16 random bytes, URL-safe base64 without padding.

    Like Kafka's own ``Uuid.randomUuid``, never one that starts with "-": the storage
    tool would read it as an option.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        # Topics come from paysim's catalog only; a typo must fail, not create a topic.
        "auto.create.topics.enable": "false",
        "num.partitions": "3",
        "offsets.topic.replication.factor": "1",
        # Fewer internal partitions: the first consumer group forms in well under a second.
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "3",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # A single-node testbench: no reason to wait for more members before a rebalance.
        "group.initial.rebalance.delay.ms": "0",
        # The log cleaner's dedupe map lives on the heap (128 MiB by default): the only
        # compacted topics here are the broker's own small ones, and 8 MiB maps ~200k keys.
        "log.cleaner.dedupe.buffer.size": str(8 * 2**20),
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


KAFKA_JVM_FLAGS = (
    # Start small and give memory back at idle: G1 runs a collection after 5 s without one
    # and uncommits what is free beyond 30% of the heap. An idle broker holds ~200 MiB
    # resident instead of ~360 MiB (with the cleaner's smaller dedupe map).
    "-Xms16m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:G1PeriodicGCInterval=5000",
    "-XX:MinHeapFreeRatio=10",
    "-XX:MaxHeapFreeRatio=30",
)


def start_kafka(settings: Settings, run_dir: Path) -> tuple[processes.ProcessHandle, int]:
    """Format a fresh log directory and start the broker; returns (process, port)."""
    libs = resolve_jars(settings)
    java = _java()
    home = run_dir / "kafka"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    port, controller_port = processes.free_ports(2)
    (home / "server.properties").write_text(
        _server_properties(home / "data", port, controller_port)
    )
    (home / "log4j2.properties").write_text(_resource("log4j2.properties"))
    classpath = f"{libs}/*"
    env = {**os.environ, "LC_ALL": "C"}
    formatted = subprocess.run(
        [
            java,
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id(),
            "-c",
            str(home / "server.properties"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    if formatted.returncode != 0:
        raise InfraError(f"formatting Kafka storage failed:\n{formatted.stdout}{formatted.stderr}")
    handle = processes.spawn(
        "kafka",
        [
            java,
            f"-Xmx{settings.kafka_heap}",
            *KAFKA_JVM_FLAGS,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(home / "server.properties"),
        ],
        home / "broker.log",
        env=env,
        cwd=home,
    )
    return handle, port
