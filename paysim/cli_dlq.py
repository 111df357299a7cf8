"""``paysim dlq ...``: look at dead letters and send them back where they came from."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from paysim.config import Settings
from paysim.errors import PaysimError

if TYPE_CHECKING:
    # Kafka client modules load only when a command runs: `paysim --help` stays quick.
    from paysim.bus.dead_letters import DeadLetter

dlq_app = typer.Typer(help="Dead letters: list them, replay them.", no_args_is_help=True)

# Wider than the main command's tables when not on a terminal (CI log, file): a dead
# letter's row has nine columns, and the error message must keep some room.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True)

MESSAGE_WIDTH = 60

TopicOption = Annotated[
    str | None,
    typer.Option(
        "--topic",
        help="a dead-letter topic to read (default: all three), or an original topic to "
        "keep the dead letters of",
    ),
]
ServersOption = Annotated[
    str | None,
    typer.Option("--bootstrap-servers", help="default: the running stack's broker"),
]


def find_bootstrap_servers(settings: Settings) -> str:
    """The broker of the running stack (or the external one configured); fails if none."""
    from paysim import infra

    if settings.infra == "external" and settings.bootstrap_servers:
        return settings.bootstrap_servers
    st = infra.status(settings)
    if st.endpoints is None or not st.healthy:
        raise PaysimError("no healthy stack; run `paysim infra up` (or `paysim up`) first")
    return st.endpoints.bootstrap_servers


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def _letters(bootstrap_servers: str | None, topic: str | None) -> tuple[str, list[DeadLetter]]:
    from confluent_kafka import KafkaException

    from paysim.bus.dead_letter_replay import DLQ_TOPICS, list_dead_letters, select

    try:
        servers = bootstrap_servers or find_bootstrap_servers(Settings())
        if topic in DLQ_TOPICS:
            return servers, list_dead_letters(servers, [topic])
        letters = list_dead_letters(servers)
    except (PaysimError, KafkaException, TimeoutError) as exc:
        raise _fail(str(exc)) from exc
    return servers, select(letters, original_topic=topic) if topic else letters


def _as_dict(letter: DeadLetter) -> dict[str, Any]:
    record = letter.record
    return {
        "dlqTopic": record.topic,
        "dlqPartition": record.partition,
        "dlqOffset": record.offset,
        "originalTopic": letter.original_topic,
        "originalPartition": letter.original_partition,
        "originalOffset": letter.original_offset,
        "eventType": record.headers.get("eventType"),
        "eventId": record.headers.get("eventId"),
        "orderId": record.key,
        "errorClass": letter.error_class,
        "errorMessage": letter.error_message,
        "attempts": letter.attempts,
        "consumerGroup": letter.consumer_group,
        "failedAt": letter.failed_at,
        "headers": record.headers,
        "value": (record.value or b"").decode(errors="replace"),
    }


def _short(text: str, width: int = MESSAGE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(failed_at: str) -> str:
    """ISO time to the second, in UTC as written; unparseable text as it is."""
    try:
        return datetime.fromisoformat(failed_at).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return failed_at


def _table(letters: list[DeadLetter], title: str) -> Table:
    table = Table(title=title)
    # Every column but the error text keeps to one line: those are what one reads
    # across and copies from; the message is what gives way in a narrow terminal.
    for name in ("dlq topic:offset", "original", "eventType", "orderId", "error"):
        table.add_column(name, no_wrap=True)
    table.add_column("message", overflow="fold", ratio=1)
    for name in ("attempts", "group", "failed at"):
        table.add_column(name, no_wrap=True)
    for d in letters:
        r = d.record
        table.add_row(
            f"{r.topic}:{r.offset}",
            f"{d.original_topic}[{d.original_partition}]@{d.original_offset}",
            r.headers.get("eventType", "-"),
            r.key or "-",
            d.error_class,
            _short(d.error_message),
            str(d.attempts),
            d.consumer_group,
            _when(d.failed_at),
        )
    return table


@dlq_app.command("list")
def dlq_list(
    topic: TopicOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="every field, as JSON")] = False,
    bootstrap_servers: ServersOption = None,
) -> None:
    """Every dead letter, with where it came from and why it failed."""
    _, letters = _letters(bootstrap_servers, topic)
    if as_json:
        print(json.dumps([_as_dict(d) for d in letters], indent=2))
        return
    console.print(_table(letters, f"{len(letters)} dead letter(s)"))


@dlq_app.command("replay")
def dlq_replay(
    event_ids: Annotated[
        list[str] | None, typer.Option("--event-id", help="replay this event's dead letters")
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="replay every dead letter")] = False,
    topic: TopicOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    bootstrap_servers: ServersOption = None,
) -> None:
    """Send dead letters back to their original topic, byte for byte.

    Safe to repeat: consumers are idempotent, so an event already handled is not applied
    twice. Each replayed record carries a dlq.replayed.from header naming its dead letter.
    """
    from paysim.bus.dead_letter_replay import by_event_id, event_id_of, replay

    if bool(event_ids) == replay_all:
        raise _fail("give either --event-id (one or more) or --all")
    servers, letters = _letters(bootstrap_servers, topic)
    if event_ids:
        letters = by_event_id(letters, event_ids)
        missing = sorted(set(event_ids) - {event_id_of(d) for d in letters})
        if missing:
            err_console.print(f"[yellow]no dead letter for event id(s):[/] {', '.join(missing)}")
    if not letters:
        if event_ids:
            raise _fail("nothing to replay")
        console.print("no dead letters to replay")
        return
    console.print(_table(letters, f"{len(letters)} dead letter(s) to replay"))
    if not yes and not typer.confirm("Replay them?"):
        raise typer.Exit(code=1)
    try:
        count = replay(servers, letters)
    except (PaysimError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    for d in letters:
        r = d.record
        console.print(
            f"replayed {r.topic}:{r.partition}:{r.offset} -> {d.original_topic} "
            f"(eventId {event_id_of(d) or '-'}, orderId {r.key or '-'})"
        )
    console.print(f"[green]{count} dead letter(s) replayed[/]")
