import sys
from pathlib import Path

import pytest

from paysim.errors import InfraError
from paysim.infra import processes


def test_a_process_that_dies_on_start_is_reported_with_its_log(tmp_path: Path) -> None:
    handle = processes.spawn(
        "broken",
        [sys.executable, "-c", "print('port already taken'); raise SystemExit(3)"],
        tmp_path / "broken.log",
    )
    with pytest.raises(InfraError, match="port already taken"):
        processes.wait_until(lambda: False, what="broken", timeout_s=10, process=handle)


def test_stop_ends_the_process_and_is_idempotent(tmp_path: Path) -> None:
    handle = processes.spawn(
        "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "s.log"
    )
    assert handle.alive()
    processes.stop(handle, timeout_s=5)
    assert not handle.alive()
    processes.stop(handle)


def test_a_recycled_pid_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    handle = processes.spawn(
        "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "s.log"
    )
    impostor = processes.ProcessHandle("sleeper", handle.pid, handle.create_time - 100, "")
    assert not impostor.alive()
    processes.stop(handle, timeout_s=5)


def test_cluster_ids_never_look_like_an_option() -> None:
    from paysim.infra.kafka_native import cluster_id

    ids = [cluster_id() for _ in range(2000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)


def test_ports_asked_for_together_are_distinct() -> None:
    # One by one, a port can come back twice; two services given it leave one dead.
    for _ in range(50):
        ports = processes.free_ports(8)
        assert len(set(ports)) == 8
