"""Which faults a request meets: rules, request patterns and a seeded dice.

Pure decisions only; :mod:`.fault_middleware` carries them out on the wire. Every
matching rule is consulted in the order it was added: the ``latency_ms`` of the rules
that fire add up (whatever their kind), and the first
rule that fires with another kind decides what happens before the request is applied
(500, 429, dropped connection) or after it (dropped connection, held answer).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from fnmatch import fnmatchcase

from paysim.stripe_emulator.models import FaultRuleView, FaultSpec
from paysim.stripe_emulator.records import new_id

BEFORE_KINDS = frozenset({"error", "rate_limit", "drop_before"})
AFTER_KINDS = frozenset({"drop_after", "timeout"})


@dataclass(frozen=True, slots=True)
class RequestPattern:
    """``METHOD /path/glob/*`` (method optional, ``*`` for any); a path prefix by default,
    the whole path when the pattern ends in ``$``."""

    method: str | None
    segments: tuple[str, ...]
    exact: bool

    @classmethod
    def parse(cls, text: str) -> RequestPattern:
        words = text.split()
        if not words or words == ["*"]:
            return cls(None, (), False)
        if len(words) > 2:
            raise ValueError(f"fault match {text!r} is not 'METHOD /path' or '/path'")
        method = words[0].upper() if len(words) == 2 else None
        path = words[-1]
        exact = path.endswith("$")
        segments = tuple(part for part in path.rstrip("$").split("/") if part)
        if path not in ("*", "*$") and not path.startswith("/"):
            raise ValueError(f"fault match path {path!r} must start with '/'")
        if segments == ("*",):
            segments = ()
        return cls(None if method == "*" else method, segments, exact)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        parts = [part for part in path.split("/") if part]
        if len(parts) < len(self.segments) or (self.exact and len(parts) != len(self.segments)):
            return False
        pairs = zip(parts, self.segments, strict=False)
        return all(fnmatchcase(part, pattern) for part, pattern in pairs)


@dataclass(slots=True)
class FaultRule:
    """An installed :class:`FaultSpec` with its pattern parsed and its counters."""

    id: str
    spec: FaultSpec
    pattern: RequestPattern
    remaining: int | None
    matched: int = 0
    fired: int = 0

    def view(self) -> FaultRuleView:
        return FaultRuleView(
            **self.spec.model_dump(),
            id=self.id,
            remaining=self.remaining,
            matched=self.matched,
            fired=self.fired,
        )


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What to do to one request."""

    latency_s: float = 0.0
    before: FaultSpec | None = None
    after: FaultSpec | None = None
    rule_ids: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.latency_s == 0.0 and self.before is None and self.after is None


class FaultInjector:
    """The installed rules and the seeded dice that decides which of them fire."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(seed)

    def add(self, spec: FaultSpec) -> FaultRuleView:
        rule = FaultRule(new_id("fault", 12), spec, RequestPattern.parse(spec.match), spec.times)
        with self._lock:
            self._rules.append(rule)
            return rule.view()

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            kept = [rule for rule in self._rules if rule.id != rule_id]
            removed = len(kept) != len(self._rules)
            self._rules = kept
            return removed

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def rules(self) -> list[FaultRuleView]:
        with self._lock:
            return [rule.view() for rule in self._rules]

    def plan(self, method: str, path: str) -> FaultPlan:
        """Roll the dice for one request; counts it against every rule it matches."""
        latency_s, before, after, fired = 0.0, None, None, []
        with self._lock:
            for rule in self._rules:
                if not self._consume(rule, method, path):
                    continue
                fired.append(rule.id)
                spec = rule.spec
                latency_s += spec.latency_ms / 1000
                if spec.kind in BEFORE_KINDS and before is None:
                    before = spec
                if spec.kind in AFTER_KINDS and after is None:
                    after = spec
        return FaultPlan(latency_s, before, after, tuple(fired))

    def _consume(self, rule: FaultRule, method: str, path: str) -> bool:
        """Whether ``rule`` fires for this request; a match uses up one of its ``times``."""
        if rule.remaining == 0 or not rule.pattern.matches(method, path):
            return False
        rule.matched += 1
        if rule.remaining is not None:
            rule.remaining -= 1
        probability = rule.spec.probability
        # Roll only for partial probabilities, so certain rules leave the sequence alone.
        fires = probability >= 1.0 or (probability > 0.0 and self._rng.random() < probability)
        if fires:
            rule.fired += 1
        return fires
