"""``paysim outbox list`` / ``retry`` over the services' SQLite files in a run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from paysim.cli import app
from paysim.store import create_engine_for, create_schema, sqlite_url
from paysim.store.outbox import Outbox
from tests.builders import payment_cancelled


def database(run_dir: Path, service: str, parked: int) -> str:
    """A service's database with one event (two rows, ids 1 and 2), ``parked`` of them."""
    (run_dir / "services").mkdir(exist_ok=True)
    url = sqlite_url(run_dir / "services" / f"{service}.db")
    engine = create_engine_for(url)
    create_schema(engine)
    with engine.begin() as connection:
        box = Outbox(connection)
        box.add(payment_cancelled(7))
        for row_id in range(1, parked + 1):
            assert box.park(row_id, f"RecordRefusedError: too large ({service})")
    engine.dispose()
    return url


def invoke(run_dir: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, ["outbox", *args], env={"PAYSIM_RUN_DIR": str(run_dir)})
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    database(tmp_path, "payment", parked=2)
    database(tmp_path, "order", parked=1)
    return tmp_path


def listed(run_dir: Path, *args: str) -> list[tuple[str, int]]:
    rows = json.loads(invoke(run_dir, "list", "--json", *args).stdout)
    return [(row["service"], row["id"]) for row in rows]


def test_list_shows_every_services_parked_rows(run_dir: Path) -> None:
    assert listed(run_dir) == [("payment", 1), ("payment", 2), ("order", 1)]
    assert listed(run_dir, "--service", "order") == [("order", 1)]
    [row] = json.loads(invoke(run_dir, "list", "--json", "--service", "order").stdout)
    assert row["reason"] == "RecordRefusedError: too large (order)"
    assert (row["topic"], row["key"], row["attempts"]) == ("payment-cancelled", "7", 1)
    table = invoke(run_dir, "list").stdout
    assert "3 parked outbox row(s)" in table
    assert "too large (payment)" in table


def test_list_finds_nothing_where_no_service_ran(tmp_path: Path) -> None:
    assert listed(tmp_path) == []
    assert not (tmp_path / "services").exists()  # looking created nothing
    failed = invoke(tmp_path, "list", "--service", "payment", code=1)
    assert "no payment database" in failed.output


def test_retry_by_id_needs_the_service_when_the_id_is_parked_in_two(run_dir: Path) -> None:
    ambiguous = invoke(run_dir, "retry", "--id", "1", code=1)
    assert "parked in payment and order" in ambiguous.output
    assert (
        "1 row(s) made pending again"
        in invoke(run_dir, "retry", "--id", "1", "--service", "order").stdout
    )
    assert listed(run_dir) == [("payment", 1), ("payment", 2)]

    partly = invoke(run_dir, "retry", "--id", "2", "--id", "9")
    assert "row 9 is not parked" in partly.output
    assert listed(run_dir) == [("payment", 1)]
    assert "nothing to retry" in invoke(run_dir, "retry", "--id", "9", code=1).output


def test_retry_all_and_the_options_it_refuses(run_dir: Path) -> None:
    assert "give either --id" in invoke(run_dir, "retry", code=1).output
    assert "give either --id" in invoke(run_dir, "retry", "--all", "--id", "1", code=1).output
    assert (
        "no outbox in 'analytics'"
        in invoke(run_dir, "list", "--service", "analytics", code=1).output
    )
    url = sqlite_url(run_dir / "services" / "payment.db")
    assert "needs --service" in invoke(run_dir, "list", "--db-url", url, code=1).output

    assert (
        "2 row(s) made pending again"
        in invoke(run_dir, "retry", "--all", "--service", "payment", "--db-url", url).stdout
    )
    assert "1 row(s) made pending again" in invoke(run_dir, "retry", "--all").stdout
    assert listed(run_dir) == []
    assert "no parked rows" in invoke(run_dir, "retry", "--all").stdout
