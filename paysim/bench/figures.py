"""Figures of repeated measurements: each the median of its repetitions, with its spread;
and the history file that keeps one JSON line per run, for notebooks to read."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Throughput:
    """Records moved and the seconds it took."""

    records: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def summarize(figures: Mapping[str, list[float]]) -> dict[str, Any]:
    """``{name: median, name_spread: [min, max]}`` for each figure with any value."""
    out: dict[str, Any] = {}
    for name, values in figures.items():
        if not values:
            out[name] = None
            continue
        out[name] = round(statistics.median(values), 3)
        out[f"{name}_spread"] = [round(min(values), 3), round(max(values), 3)]
    return out


def median_by_key(readings: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Per key, the median over several ``{key: value}`` readings (e.g. per process)."""
    collected: dict[str, list[float]] = {}
    for reading in readings:
        for key, value in reading.items():
            collected.setdefault(key, []).append(value)
    return {key: round(statistics.median(v), 2) for key, v in sorted(collected.items())}


def append_history(path: Path, result: Mapping[str, Any]) -> None:
    """Add ``result`` as one JSON line to the history file (made if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as history:
        history.write(json.dumps(result, sort_keys=True) + "\n")


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every run recorded in the history file, oldest first; none if there is no file."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
