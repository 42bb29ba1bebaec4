"""The source system over simulated time: one order per step, with the faults asked for.

Everything derives from one seeded `random.Random` and a simulated clock, never from wall time,
so the same options give byte-identical events in the same order. Events that happen later in
simulated time (newer versions, redeliveries, late versions, entities appearing in Redis) wait
in a queue and come out in the step whose clock passes them.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

from streamvault.contracts.source import SourceOrder
from streamvault.generator import orders
from streamvault.generator.malformed import CATALOGUE
from streamvault.generator.model import Event, GeneratorOptions, KafkaMessage, Stats, Timeline
from streamvault.generator.world import Dish, RestaurantState, UserState, World, Zipf

MEAN_SECONDS_BETWEEN_ORDERS = 120
REVEAL_SHARE = 0.5  # of orders with unknown ids: the missing entity is written to Redis later
SECOND_FLIP_SHARE = 0.3  # of flipped orders: flipped back again
MALFORMED_KINDS = tuple(CATALOGUE)

Pending = Event | Callable[[], Event]


class Simulator:
    """Call `reference()` once, then `step()` per order, then `drain()` for what is still scheduled."""

    def __init__(self, options: GeneratorOptions):
        self.options = options
        self.stats = Stats()
        self.unknown_orders: set[int] = set()
        self.now = options.start
        self._rng = random.Random(options.seed)
        self._next_object_id = options.object_id_base
        self._items_zipf = Zipf(1.2)
        self._queue: list[tuple[datetime, int, Pending]] = []
        self._sequence = 0
        self.world = World(self._rng, options.users, options.restaurants, options.start)

    def reference(self) -> list[Event]:
        """The initial reference data (docs/spec.md §1.2), to be written before any order."""
        self.stats.users, self.stats.restaurants = len(self.world.users), len(self.world.restaurants)
        return [*(user.write("reference") for user in self.world.users),
                *(restaurant.write("reference") for restaurant in self.world.restaurants)]

    def step(self) -> list[Event]:
        """Advance the clock to the next order and return everything that happens up to it."""
        rng, options = self._rng, self.options
        self.now += timedelta(seconds=max(1, round(rng.expovariate(1 / MEAN_SECONDS_BETWEEN_ORDERS))))
        events = self._due(self.now)
        if rng.random() < options.reference_changes:
            events.append(self.world.change(self.now))
        if rng.random() < options.non_orders:
            object_id = self._object_id()
            value = orders.review(rng, object_id, self.world.pick_user().id, self.world.pick_restaurant().id, self.now)
            events.append(KafkaMessage(str(object_id).encode(), value, "non_order"))
        if rng.random() < options.malformed:
            events.append(self._malformed())
        events.extend(self._order())
        for event in events:
            self.stats.count(event)
        return events

    def drain(self) -> list[Event]:
        """Everything still scheduled, in time order: ends a batch with every order complete."""
        events = self._due(datetime.max)
        for event in events:
            self.stats.count(event)
        return events

    def _due(self, until: datetime) -> list[Event]:
        due = []
        while self._queue and self._queue[0][0] <= until:
            _, _, pending = heapq.heappop(self._queue)
            due.append(pending() if callable(pending) else pending)
        return due

    def _schedule(self, at: datetime, pending: Pending) -> None:
        self._sequence += 1  # ties keep scheduling order; callables are never compared
        heapq.heappush(self._queue, (at, self._sequence, pending))

    def _object_id(self) -> int:
        self._next_object_id += 1
        return self._next_object_id - 1

    def _dishes(self, restaurant: RestaurantState) -> list[Dish]:
        return self.world.pick_dishes(restaurant, 1 + self._items_zipf.index(self._rng, self.options.max_items))

    def _malformed(self) -> KafkaMessage:
        """A bad message built from a fresh valid order, so it never collides with a real one."""
        rng, world = self._rng, self.world
        object_id, restaurant = self._object_id(), world.pick_restaurant()
        order = orders.new_order(rng, object_id, world.pick_user().id, restaurant.id,
                                 orders.quantities(rng, self._dishes(restaurant)), False, self.now)
        kind = rng.choice(MALFORMED_KINDS)
        return KafkaMessage(str(object_id).encode(), CATALOGUE[kind](rng, msgspec.to_builtins(order)),
                            f"malformed:{kind}")

    def _order(self) -> list[Event]:
        """A new order sent now; its newer versions and redeliveries scheduled."""
        rng, options = self._rng, self.options
        object_id = self._object_id()
        user, restaurant, dishes = self._participants(object_id)
        first = orders.new_order(rng, object_id, user.id, restaurant.id, orders.quantities(rng, dishes),
                                 rng.random() < options.cancelled, self.now)
        flip, late = rng.random() < options.flips, rng.random() < options.late
        # A late order needs a newer version to be late against, so it gets a flip too.
        flips = (2 if rng.random() < SECOND_FLIP_SHARE else 1) if flip or late else 0
        self.stats.orders += 1
        self.stats.cancelled += first.payload.final_status == "CANCELLED"
        self.stats.flipped += flips > 0
        return self._deliver(str(object_id).encode(), self._versions(first, flips), late)

    def _participants(self, object_id: int) -> tuple[UserState, RestaurantState, list[Dish]]:
        """Who orders what; with `unknown_ids`, one of them is missing from Redis and maybe written later.
        A missing entity is created outside the world's pools: only this order references it."""
        rng, world = self._rng, self.world
        missing = None
        if rng.random() < self.options.unknown_ids:
            missing = rng.choice(("user", "user", "restaurant", "menu_item"))
        reveal_at = None
        if missing and rng.random() < REVEAL_SHARE:
            reveal_at = self.now + timedelta(minutes=rng.randint(5, 120))
        user = world.new_user(reveal_at or self.now) if missing == "user" else world.pick_user()
        restaurant = world.new_restaurant(reveal_at or self.now) if missing == "restaurant" else world.pick_restaurant()
        dishes = self._dishes(restaurant)
        if missing == "menu_item":
            dishes[-1] = hidden = world.new_dish(restaurant)
            if reveal_at:
                def add_dish() -> Event:  # the menu as it is by then, plus the dish
                    restaurant.menu.append(hidden)
                    restaurant.updated = max(reveal_at, restaurant.updated + timedelta(seconds=1))
                    return restaurant.write("late_reference")
                self._schedule(reveal_at, add_dish)
        elif reveal_at:
            self._schedule(reveal_at, (user if missing == "user" else restaurant).write("late_reference"))
        if missing:
            self.stats.unknown_ids += 1
            self.unknown_orders.add(object_id)
        return user, restaurant, dishes

    def _deliver(self, key: bytes, versions: list[tuple[datetime, SourceOrder]], late: bool) -> list[Event]:
        """Messages due now; later ones, the late first version and redeliveries go to the queue."""
        rng = self._rng
        deliveries = [(at, KafkaMessage(key, msgspec.json.encode(version), "order")) for at, version in versions]
        if late:  # the first version is held back until after the second one was delivered
            deliveries[0] = (versions[1][0] + timedelta(seconds=rng.randint(1, 1800)),
                             KafkaMessage(key, deliveries[0][1].value, "late"))
        now: list[Event] = []
        for at, message in deliveries:
            if at <= self.now:
                now.append(message)
            else:
                self._schedule(at, message)
            if rng.random() < self.options.duplicates:
                self._schedule(max(at, self.now) + timedelta(seconds=rng.randint(1, 1800)),
                               KafkaMessage(key, message.value, "duplicate"))
        return now

    def _versions(self, first: SourceOrder, flips: int) -> list[tuple[datetime, SourceOrder]]:
        """(sent at, version), oldest first: the first one now, each flip minutes to hours later."""
        versions = [(self.now, first)]
        for _ in range(flips):
            at = versions[-1][0] + timedelta(seconds=self._rng.randint(600, 3 * 3600))
            sent_at = at + timedelta(seconds=self._rng.randint(0, 5))
            versions.append((sent_at, orders.flipped(versions[-1][1], at, sent_at)))
        return versions


def build_timeline(options: GeneratorOptions) -> Timeline:
    """The whole run as data: reference data, `options.orders` orders with their faults, then
    everything still scheduled. No I/O; `publish()` writes it."""
    simulator = Simulator(options)
    events = simulator.reference()
    for _ in range(options.orders):
        events.extend(simulator.step())
    events.extend(simulator.drain())
    return Timeline(tuple(events), simulator.stats, frozenset(simulator.unknown_orders))
