"""The rules all of paysim's state machines share: commands move, events are offered.

Two ways to ask for a move:

* a **command** (from the API or a saga) names the next status; a move the table does
  not have raises ``IllegalTransition``, because the caller asked for something wrong;
* an **event** (from Kafka or a Stripe webhook) reports a status reached elsewhere.
  Events arrive late, twice or out of order, so an event never raises: it is applied
  when it moves the entity *forward*, and otherwise ignored with a reason.

"Forward" is defined by an explicit rank per status. An event's status is applied when
its rank is above the current one and it can be reached from the current status by legal
moves (intermediate statuses may be skipped: their events are then late, and ignored as
stale when they come). A lower rank is *stale*, the same status a *duplicate*, and an
equal-or-higher rank that cannot be reached a *conflict* (another branch, such as
COMPLETED against CANCELLED). Edges that go down in rank (a new payment attempt after a
failure, a further refund after a partial one) are therefore commands only, unless the
event says which attempt it belongs to; see ``StateMachine.offer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from paysim.errors import PermanentError

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(PermanentError):  # noqa: N818 - the name is the documented contract
    """A command asked for a move its state machine does not have."""

    def __init__(self, machine: str, current: StrEnum, target: StrEnum, allowed: str) -> None:
        self.machine = machine
        self.current = current
        self.target = target
        super().__init__(f"{machine} cannot move from {current} to {target} ({allowed})")


class Outcome(StrEnum):
    """What became of an event offered to a state machine."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    """The result of offering an event's status: applied, or ignored with a reason.

    ``status`` is the status after the event (``previous`` when it was ignored).
    """

    outcome: Outcome
    status: S
    previous: S
    reason: str

    @property
    def applied(self) -> bool:
        return self.outcome is Outcome.APPLIED


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    """A transition table with a rank per status; the rules above, for any status enum.

    ``restarts`` maps a status to the one a new attempt starts from (FAILED -> PROCESSING).
    """

    name: str
    moves: Mapping[S, frozenset[S]]
    rank: Mapping[S, int]
    restarts: Mapping[S, S] = field(default_factory=dict)

    def __post_init__(self) -> None:
        statuses = set(self.rank)
        targets = {t for ts in self.moves.values() for t in ts}
        if set(self.moves) != statuses or not targets <= statuses:
            raise ValueError(f"{self.name}: moves and ranks must cover the same statuses")
        for source, restart in self.restarts.items():
            if restart not in self.moves[source]:
                raise ValueError(f"{self.name}: restart {source} -> {restart} is not a move")

    def allowed(self, current: S) -> frozenset[S]:
        return self.moves[current]

    def can_move(self, current: S, target: S) -> bool:
        return target in self.moves[current]

    def move(self, current: S, target: S) -> S:
        """Check a commanded move; return the new status or raise ``IllegalTransition``."""
        if target not in self.moves[current]:
            allowed = self.moves[current]
            hint = (
                f"allowed from {current}: {', '.join(sorted(allowed))}"
                if allowed
                else f"{current} is final"
            )
            raise IllegalTransition(self.name, current, target, hint)
        return target

    def reachable(self, current: S, target: S) -> bool:
        """Whether one or more legal moves lead from ``current`` to ``target``."""
        seen: set[S] = set()
        frontier = set(self.moves[current])
        while frontier:
            status = frontier.pop()
            if status == target:
                return True
            seen.add(status)
            frontier |= self.moves[status] - seen
        return False

    def offer(
        self,
        current: S,
        target: S,
        *,
        event_attempt: int | None = None,
        current_attempt: int | None = None,
    ) -> Transition[S]:
        """Apply an event's status if it moves forward; never raises.

        When both attempt numbers are known, an event of an older attempt is stale, and
        one of a newer attempt is judged from the status that attempt restarts at: a
        FAILED payment accepts PROCESSING, COMPLETED or FAILED of attempt 2. Without
        them a late event of the previous attempt cannot be told from one of a new
        attempt, so restart edges are never taken and ranks alone decide.
        """
        if event_attempt is not None and current_attempt is not None:
            if event_attempt < current_attempt:
                return self._ignored(
                    Outcome.STALE,
                    current,
                    f"stale: {target} is from attempt {event_attempt}, "
                    f"the {self.name} is on attempt {current_attempt}",
                )
            restart = self.restarts.get(current)
            if (
                event_attempt > current_attempt
                and restart is not None
                and (target == restart or self.reachable(restart, target))
            ):
                return Transition(
                    Outcome.APPLIED,
                    target,
                    current,
                    f"attempt {event_attempt} moves {current} to {target}",
                )
        return self._by_rank(current, target)

    def _by_rank(self, current: S, target: S) -> Transition[S]:
        if target == current:
            return self._ignored(
                Outcome.DUPLICATE, current, f"duplicate: the {self.name} is already {current}"
            )
        if self.rank[target] < self.rank[current]:
            return self._ignored(Outcome.STALE, current, f"stale: {target} is behind {current}")
        if target in self.moves[current]:
            return Transition(Outcome.APPLIED, target, current, f"{current} -> {target}")
        if self.reachable(current, target):
            return Transition(
                Outcome.APPLIED,
                target,
                current,
                f"{current} -> {target}, skipping statuses whose events are late or lost",
            )
        return self._ignored(
            Outcome.CONFLICT,
            current,
            f"conflict: the {self.name} cannot reach {target} from {current}",
        )

    @staticmethod
    def _ignored(outcome: Outcome, current: S, reason: str) -> Transition[S]:
        return Transition(outcome, current, current, reason)
