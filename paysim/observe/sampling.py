"""Metrics and consumer lag sampled over time, in a background thread, into DataFrames.

A Prometheus scrape and a lag measurement each say how things are now; a run is better
understood as curves. A ``Recorder`` calls one sampling function every ``interval_s``
while the run goes on and keeps every row with the time it was taken (``at``, UTC).
A sample that fails (a service busy or stopped on purpose) is noted in ``errors`` and
the recording goes on: it is telemetry, not part of the run.

Counters become rates with ``counter_rates``; histograms become quantiles with
``histogram_quantiles``, computed the way Prometheus' ``histogram_quantile`` does.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from paysim.observe.lag import LagProbe

Row = dict[str, Any]
PLAN_PREFIXES = ("payment_",)
"""The plan's metrics (and paysim's additions) all start with ``payment_``."""
SCRAPE_TIMEOUT_S = 5.0


def scrape(url: str, prefixes: Iterable[str] = PLAN_PREFIXES) -> list[Row]:
    """One scrape of ``{url}/metrics``: a row per sample (name, labels as columns, value)."""
    wanted = tuple(prefixes)
    text = httpx.get(f"{url}/metrics", timeout=SCRAPE_TIMEOUT_S).text
    return [
        {"sample": sample.name, **sample.labels, "value": sample.value}
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(wanted)
    ]


def scrape_services(
    services: Mapping[str, str], prefixes: Iterable[str] = PLAN_PREFIXES
) -> list[Row]:
    """One scrape of every service (name -> base URL), side by side so the samples are
    close in time; rows carry the service's name."""
    wanted = tuple(prefixes)
    with ThreadPoolExecutor(max_workers=max(len(services), 1)) as pool:
        answers = pool.map(lambda url: scrape(url, wanted), services.values())
        scraped = dict(zip(services, answers, strict=True))
    return [{"service": name, **row} for name, rows in scraped.items() for row in rows]


class Recorder:
    """Calls ``sample`` every ``interval_s`` in a daemon thread until ``stop``.

    Use as a context manager, or ``start()`` and ``stop()``; ``frame()`` gives the rows
    so far, each with its ``at``.
    """

    def __init__(self, sample: Callable[[], list[Row]], interval_s: float = 0.5) -> None:
        self._sample = sample
        self._interval_s = interval_s
        self._rows: list[Row] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def start(self) -> Recorder:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="paysim-recorder", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> pd.DataFrame:
        """Stop sampling (after the sample in progress) and return every row."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        return self.frame()

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    def frame(self) -> pd.DataFrame:
        with self._lock:
            rows = list(self._rows)
        frame = pd.DataFrame(rows)
        if not frame.empty:
            frame["at"] = pd.to_datetime(frame["at"], utc=True)
        return frame

    def _run(self) -> None:
        while not self._stop.is_set():
            at = datetime.now(UTC)
            try:
                rows = self._sample()
            except Exception as exc:  # telemetry: note it and keep recording
                self.errors.append(f"{at.isoformat()}: {type(exc).__name__}: {exc}")
            else:
                with self._lock:
                    self._rows.extend({"at": at, **row} for row in rows)
            self._stop.wait(self._interval_s)


def record_metrics(
    services: Mapping[str, str],
    interval_s: float = 0.5,
    prefixes: Iterable[str] = PLAN_PREFIXES,
) -> Recorder:
    """A recorder of the services' ``/metrics`` (name -> base URL); call ``start()``."""
    wanted = tuple(prefixes)
    return Recorder(lambda: scrape_services(services, wanted), interval_s)


class _LagSampler:
    """One probe for the whole recording, closed with the recorder's last sample."""

    def __init__(
        self, bootstrap_servers: str, groups: Iterable[str], topics: Iterable[str]
    ) -> None:
        self.probe = LagProbe(bootstrap_servers)
        self.groups = list(groups)
        self.topics = list(topics)

    def __call__(self) -> list[Row]:
        return [asdict(lag) for lag in self.probe.measure(self.groups, self.topics)]


class LagRecorder(Recorder):
    """A recorder of consumer lag per (group, topic, partition), from committed offsets."""

    def __init__(
        self,
        bootstrap_servers: str,
        groups: Iterable[str],
        interval_s: float = 0.5,
        *,
        topics: Iterable[str] = (),
    ) -> None:
        self._sampler = _LagSampler(bootstrap_servers, groups, topics)
        super().__init__(self._sampler, interval_s)

    def stop(self) -> pd.DataFrame:
        frame = super().stop()
        self._sampler.probe.close()
        return frame


def lag_totals(samples: pd.DataFrame, by: str = "group") -> pd.DataFrame:
    """Lag samples summed over partitions: index ``at``, one column per ``by`` value."""
    if samples.empty:
        return pd.DataFrame()
    return samples.pivot_table(index="at", columns=by, values="lag", aggfunc="sum").fillna(0)


def counter_rates(samples: pd.DataFrame, sample: str, by: str) -> pd.DataFrame:
    """A counter's rate per second between scrapes: index ``at``, one column per ``by``.

    Summed over services and every other label. A label value that appears mid-run
    started from zero; a counter that went down (a restarted service) counts as zero.
    """
    data = samples[samples["sample"] == sample]
    if data.empty:
        return pd.DataFrame()
    totals = data.pivot_table(index="at", columns=by, values="value", aggfunc="sum").fillna(0)
    seconds = totals.index.to_series().diff().dt.total_seconds()
    rates = totals.diff().clip(lower=0).div(seconds, axis=0)
    return rates.iloc[1:]


def gauges(samples: pd.DataFrame, sample: str, by: str = "service") -> pd.DataFrame:
    """A gauge over time: index ``at``, one column per ``by`` value (summed within it)."""
    data = samples[samples["sample"] == sample]
    if data.empty:
        return pd.DataFrame()
    return data.pivot_table(index="at", columns=by, values="value", aggfunc="sum")


def _quantile(buckets: pd.Series, q: float) -> float:
    """Prometheus' ``histogram_quantile`` over cumulative bucket counts indexed by ``le``."""
    total = float(buckets.iloc[-1])
    if total == 0:
        return math.nan
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in zip(buckets.index.astype(float), buckets.astype(float), strict=True):
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # the last finite bucket's upper bound, as Prometheus does
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def histogram_quantiles(
    samples: pd.DataFrame,
    histogram: str,
    by: str,
    quantiles: Iterable[float] = (0.5, 0.95, 0.99),
) -> pd.DataFrame:
    """Quantiles of a histogram at its last scrape, one row per ``by`` value.

    ``histogram`` is the metric's base name (``payment_event_processing_duration_seconds``);
    buckets are summed over services and every other label first.
    """
    data = samples[samples["sample"] == f"{histogram}_bucket"]
    if data.empty:
        return pd.DataFrame()
    last = data[data["at"] == data["at"].max()].assign(le=lambda f: f["le"].astype(float))
    wanted = list(quantiles)
    rows = []
    for value, group in last.groupby(by):
        buckets = group.groupby("le")["value"].sum().sort_index()
        row: Row = {by: value, "count": int(buckets.iloc[-1])}
        row.update({f"p{round(q * 100)}": _quantile(buckets, q) for q in wanted})
        rows.append(row)
    return pd.DataFrame(rows).set_index(by)
