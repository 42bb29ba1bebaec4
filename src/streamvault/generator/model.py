"""The generator's public data model: options in, an ordered timeline of writes out.

The timeline is pure data (no I/O), so tests can compute what the pipeline should end up with
from exactly the bytes that were published.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

DEFAULT_TOPIC = "order-service_orders"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

RedisKind = Literal["reference", "change", "late_reference"]


@dataclass(frozen=True)
class GeneratorOptions:
    """Same options and seed => byte-identical events in the same order.

    Shares are probabilities per created order (per delivered order version for `duplicates`).
    """

    seed: int = 1
    orders: int = 1000
    users: int = 200
    restaurants: int = 12
    max_items: int = 6
    cancelled: float = 0.1
    duplicates: float = 0.03
    late: float = 0.01
    flips: float = 0.02
    reference_changes: float = 0.01
    unknown_ids: float = 0.01
    malformed: float = 0.005
    non_orders: float = 0.005
    # Simulated clock: wall time never leaks into messages, so runs are reproducible.
    start: datetime = datetime(2024, 3, 1, 9, 0, 0)
    # None: derived from the seed, so runs with different seeds do not reuse each other's order ids.
    first_object_id: int | None = None

    def __post_init__(self) -> None:
        for name in ("cancelled", "duplicates", "late", "flips", "reference_changes", "unknown_ids",
                     "malformed", "non_orders"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1")
        if self.orders < 0 or self.users < 1 or self.restaurants < 1 or self.max_items < 1:
            raise ValueError("orders must be >= 0; users, restaurants and max_items >= 1")

    @property
    def object_id_base(self) -> int:
        if self.first_object_id is not None:
            return self.first_object_id
        return 1_000_000 * (1000 + self.seed % 9000)


@dataclass(frozen=True, slots=True)
class RedisWrite:
    """SET key value. kind: initial "reference" data, a later "change" (rename, menu edit),
    or a "late_reference": an entity that orders already referenced while it was missing."""

    key: str
    value: bytes
    kind: RedisKind


@dataclass(frozen=True, slots=True)
class KafkaMessage:
    """One record for the source topic. kind: "order" (first delivery of an order version),
    "duplicate" (the same bytes again), "late" (an older version delivered after a newer one),
    "non_order" (another object_type), or "malformed:<catalogue name>"."""

    key: bytes
    value: bytes
    kind: str


Event = RedisWrite | KafkaMessage


@dataclass
class Stats:
    """Counts of what was generated; `orders`, `cancelled`, `flipped`, `unknown_ids` count created
    orders, the rest count events."""

    users: int = 0
    restaurants: int = 0
    orders: int = 0
    cancelled: int = 0
    flipped: int = 0
    unknown_ids: int = 0
    versions: int = 0
    duplicates: int = 0
    late: int = 0
    non_orders: int = 0
    malformed: int = 0
    reference_changes: int = 0

    def count(self, event: Event) -> None:
        if isinstance(event, RedisWrite):
            if event.kind != "reference":
                self.reference_changes += 1
            return
        kind = event.kind
        if kind in ("order", "late"):
            self.versions += 1
        if kind == "late":
            self.late += 1
        elif kind == "duplicate":
            self.duplicates += 1
        elif kind == "non_order":
            self.non_orders += 1
        elif kind.startswith("malformed:"):
            self.malformed += 1

    def summary(self) -> str:
        return (f"{self.orders} orders ({self.versions} versions, {self.cancelled} cancelled, "
                f"{self.flipped} flipped), {self.duplicates} duplicates, {self.late} late, "
                f"{self.unknown_ids} with unknown ids, {self.malformed} malformed, {self.non_orders} non-order; "
                f"{self.users} users, {self.restaurants} restaurants, "
                f"{self.reference_changes} reference changes written")


@dataclass(frozen=True)
class Timeline:
    """Everything to write, in order: the initial reference data first, then the stream."""

    events: tuple[Event, ...]
    stats: Stats
    # Orders that reference a user, restaurant or menu item absent from Redis when they were sent.
    unknown_orders: frozenset[int] = field(default_factory=frozenset)

    @property
    def messages(self) -> Iterator[KafkaMessage]:
        return (event for event in self.events if isinstance(event, KafkaMessage))

    @property
    def redis_writes(self) -> Iterator[RedisWrite]:
        return (event for event in self.events if isinstance(event, RedisWrite))


def fmt(moment: datetime) -> str:
    """docs/spec.md §1 wire format: "YYYY-MM-DD HH:MM:SS" (msgspec itself would write RFC 3339 with a "T").
    The simulated clock is naive (UTC); isoformat is several times faster than strftime."""
    return moment.isoformat(" ", "seconds")
