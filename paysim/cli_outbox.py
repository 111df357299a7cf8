"""``paysim outbox ...``: the outbox rows a relay parked, and sending them round again.

A relay parks a row it cannot publish (refused by the broker for what it is, or failing
while the rows behind it go through) so that it blocks nothing; the row waits in its
service's database until a person looks at it. ``retry`` makes it pending again: the
relay publishes it next, or parks it again with a fresh reason.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from paysim.config import Settings

if TYPE_CHECKING:
    # SQLAlchemy loads only when a command runs: `paysim --help` stays quick.
    from paysim.store.outbox import Outbox, ParkedRow

outbox_app = typer.Typer(help="Parked outbox rows: list them, retry them.", no_args_is_help=True)

console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True)

SERVICES = ("payment", "order", "delivery")
"""The services that publish through an outbox (each has a relay)."""

REASON_WIDTH = 80

_T = TypeVar("_T")

ServiceOption = Annotated[
    str | None,
    typer.Option("--service", help=f"one of {', '.join(SERVICES)} (default: all of them)"),
]
DbUrlOption = Annotated[
    str | None,
    typer.Option(
        "--db-url",
        help="the service's database, if it was started with --db-url (needs --service)",
    ),
]


@dataclass(frozen=True, slots=True)
class ServiceDatabase:
    """One service's database, as the CLI reaches it."""

    service: str
    url: str


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def databases(settings: Settings, service: str | None, db_url: str | None) -> list[ServiceDatabase]:
    """The databases to look in: the one given, else each service's default SQLite file
    in the run folder, those that exist (a database is never created by looking)."""
    from paysim.bootstrap.common import default_db_path
    from paysim.store.database import sqlite_url

    if service is not None and service not in SERVICES:
        raise _fail(f"no outbox in {service!r}: the services with one are {', '.join(SERVICES)}")
    if db_url is not None:
        if service is None:
            raise _fail("--db-url needs --service (whose database it is)")
        return [ServiceDatabase(service, db_url)]
    found = []
    for name in [service] if service else SERVICES:
        path = default_db_path(settings, name)
        if path.exists():
            found.append(ServiceDatabase(name, sqlite_url(path)))
        elif service is not None:
            raise _fail(
                f"no {name} database at {path}; was the stack started with this run folder?"
            )
    return found


def _in_outbox(database: ServiceDatabase, work: Callable[[Outbox], _T]) -> _T:
    """Run ``work`` on the database's outbox in one transaction."""
    from sqlalchemy.exc import SQLAlchemyError

    from paysim.store.database import create_engine_for
    from paysim.store.outbox import Outbox

    engine = create_engine_for(database.url)
    try:
        with engine.begin() as connection:
            return work(Outbox(connection))
    except SQLAlchemyError as exc:
        raise _fail(f"{database.service} database ({database.url}): {exc}") from exc
    finally:
        engine.dispose()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def as_dict(service: str, row: ParkedRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "service": service,
        "eventId": row.event_id,
        "eventType": row.event_type,
        "topic": row.topic,
        "key": row.key,
        "payloadBytes": row.payload_bytes,
        "attempts": row.attempts,
        "reason": row.reason,
        "createdAt": _iso(row.created_at),
        "parkedAt": _iso(row.parked_at),
    }


def _short(text: str, width: int = REASON_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[tuple[str, ParkedRow]]) -> Table:
    table = Table(title=f"{len(rows)} parked outbox row(s)")
    for name in ("service", "id", "eventType", "eventId", "topic", "key", "bytes", "attempts"):
        table.add_column(name, no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=1)
    table.add_column("parked at", no_wrap=True)
    for service, row in rows:
        table.add_row(
            service,
            str(row.id),
            row.event_type,
            row.event_id,
            row.topic,
            row.key,
            str(row.payload_bytes),
            str(row.attempts),
            _short(row.reason),
            row.parked_at.strftime("%Y-%m-%d %H:%M:%S") if row.parked_at else "-",
        )
    return table


def parked_rows(found: list[ServiceDatabase]) -> list[tuple[str, ParkedRow]]:
    """Every parked row of these databases, by service, oldest first."""
    return [(db.service, row) for db in found for row in _in_outbox(db, lambda box: box.parked())]


@outbox_app.command("list")
def outbox_list(
    service: ServiceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="every field, as JSON")] = False,
    db_url: DbUrlOption = None,
) -> None:
    """The rows the relays parked: what they carry, where to, and why they were parked."""
    rows = parked_rows(databases(Settings(), service, db_url))
    if as_json:
        print(json.dumps([as_dict(name, row) for name, row in rows], indent=2))
        return
    console.print(_table(rows))


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="retry this parked row (repeatable)")
    ] = None,
    retry_all: Annotated[bool, typer.Option("--all", help="retry every parked row")] = False,
    service: ServiceOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Make parked rows pending again: the relay publishes them next, or parks them again.

    Row ids are per service; an id parked in several services needs --service. A retried
    row keeps its place (its id), so it goes out ahead of the rows committed after it.
    """
    if bool(ids) == retry_all:
        raise _fail("give either --id (one or more) or --all")
    found = databases(Settings(), service, db_url)
    wanted = set(ids or [])
    chosen: dict[str, list[int]] = {}
    for name, row in parked_rows(found):
        if retry_all or row.id in wanted:
            chosen.setdefault(name, []).append(row.id)
    for row_id in sorted(wanted):
        owners = [name for name, found_ids in chosen.items() if row_id in found_ids]
        if len(owners) > 1:
            raise _fail(
                f"row {row_id} is parked in {' and '.join(owners)}: say which with --service"
            )
        if not owners:
            err_console.print(f"[yellow]row {row_id} is not parked[/]")
    if not chosen:
        if wanted:
            raise _fail("nothing to retry")
        console.print("no parked rows")
        return
    moved = 0
    for db in found:
        if db.service in chosen:
            retried = _retry(db, chosen[db.service])
            moved += len(retried)
            console.print(f"{db.service}: back to pending: {', '.join(map(str, retried))}")
    console.print(f"[green]{moved} row(s) made pending again[/]; the relay publishes them next")


def _retry(database: ServiceDatabase, ids: list[int]) -> list[int]:
    return _in_outbox(database, lambda box: box.retry_parked(ids))
