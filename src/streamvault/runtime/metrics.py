"""Prometheus metrics of a service; one service per process, so the default registry is enough."""

from __future__ import annotations

import bisect
import threading
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from itertools import repeat

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

messages_in = Counter("streamvault_messages_in_total", "Messages consumed and committed", ["service"])
messages_out = Counter("streamvault_messages_out_total", "Messages produced downstream", ["service"])
messages_dlq = Counter("streamvault_messages_dlq_total", "Messages sent to the dead-letter topic", ["service"])
other_objects = Counter("streamvault_other_objects_total",
                        "Source objects that are not orders: stored raw in stg, not forwarded", ["service"])
parked = Gauge("streamvault_parked_orders", "Orders waiting for reference data (the table statistics' estimate)",
               ["service"])
parked_expired = Counter("streamvault_parked_expired_total",
                         "Parked orders that waited longer than their bound and went to the dead-letter topic",
                         ["service"])
batch_size = Histogram("streamvault_batch_size", "Messages per committed batch", ["service"],
                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000))
batch_seconds = Histogram("streamvault_batch_seconds", "Time to load and commit one batch", ["service"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
consumer_lag = Gauge("streamvault_consumer_lag", "Messages behind the end of the partition",
                     ["service", "topic", "partition"])
batch_failures = Counter("streamvault_batch_failures_total", "Batches aborted and retried", ["service", "reason"])
hanging_transaction_seconds = Gauge(
    "streamvault_hanging_transaction_seconds",
    "How long a transaction open past any producer's timeout has held back an assigned partition (runtime/hanging.py)",
    ["service", "topic", "partition"])
# Where a turn of the loop spends its time (runtime/timing.py): rate() of it is each phase's share of the wall time.
phase_seconds = Counter("streamvault_loop_phase_seconds_total", "Seconds the loop spent in each phase of its turns",
                        ["service", "phase"])
slow_turns = Counter("streamvault_slow_turns_total",
                     "Turns of the loop whose work took longer than STREAMVAULT_SLOW_TURN_SECONDS", ["service"])
ready = Gauge("streamvault_ready", "1 when the service is ready", ["service"])
# With the process's RSS (process_resident_memory_bytes) it tells a leak (both grow) from memory held by
# allocators after a large batch (RSS grows, the objects do not).
python_objects = Gauge("streamvault_python_allocated_blocks",
                       "Memory blocks CPython's allocator has handed out and not had back (sys.getallocatedblocks)",
                       ["service"])


class BatchHistogram(Collector):
    """A histogram observed a batch at a time, for one observation per message: prometheus_client's
    Histogram.observe takes a lock and walks the buckets in Python for each value (~1.2 µs: a few per
    cent of a service's CPU per message); here a batch costs one C-level pass."""

    def __init__(self, name: str, documentation: str, label: str, bounds: tuple[float, ...]):
        self.name, self.documentation, self.label, self.bounds = name, documentation, label, bounds
        self._lock = threading.Lock()
        self._series: dict[str, tuple[list[int], list[float]]] = {}  # label value -> (bucket counts, [sum])

    def observe_many(self, label_value: str, values: Iterable[float]) -> None:
        values = list(values)
        tally = Tally(map(bisect.bisect_left, repeat(self.bounds), values))
        with self._lock:
            counts, total = self._series.setdefault(label_value, ([0] * (len(self.bounds) + 1), [0.0]))
            for bucket, count in tally.items():
                counts[bucket] += count
            total[0] += sum(values)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        with self._lock:
            for label_value, (counts, total) in self._series.items():
                cumulative, buckets = 0, []
                for bound, count in zip((*map(floatToGoString, self.bounds), "+Inf"), counts):
                    cumulative += count
                    buckets.append((bound, cumulative))
                family.add_metric([label_value], buckets, total[0])
        yield family


freshness_seconds = BatchHistogram("streamvault_freshness_seconds",
                                   "Source publish time of a message -> this service's commit of it", "service",
                                   (0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
REGISTRY.register(freshness_seconds)
