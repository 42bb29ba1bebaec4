"""STG's view of Redis: batched reads, and a cache that never serves a record older than its bound."""

from __future__ import annotations

import time
import tracemalloc
import uuid

import msgspec

from streamvault.contracts.source import User
from streamvault.stg.reference import ReferenceData
from streamvault.testing.support import redis_client


def _user(user_id: str, name: str) -> bytes:
    return msgspec.json.encode({"_id": user_id, "name": name, "login": "login", "update_ts_utc": "2024-01-01 00:00:00"})


def test_a_record_is_reused_within_its_bound_and_reread_after_it(stack):
    client = redis_client()
    user_id = uuid.uuid4().hex[:24]
    client.set(user_id, _user(user_id, "Анна"))
    cached, uncached = ReferenceData(client, max_age_s=3600), ReferenceData(client, max_age_s=0)
    assert cached.lookup({user_id}, set())[0][user_id].name == "Анна"
    assert uncached.lookup({user_id}, set())[0][user_id].name == "Анна"

    client.set(user_id, _user(user_id, "Анна Петрова"))
    assert cached.lookup({user_id}, set())[0][user_id].name == "Анна"
    assert uncached.lookup({user_id}, set())[0][user_id].name == "Анна Петрова"


def test_missing_and_malformed_records_are_missing_until_written(stack):
    client = redis_client()
    absent, broken = uuid.uuid4().hex[:24], uuid.uuid4().hex[:24]
    client.set(broken, b"{not json")
    reference = ReferenceData(client, max_age_s=3600)
    users, restaurants, malformed = reference.lookup({absent, broken}, {absent})
    assert users == {} and restaurants == {}
    assert list(malformed) == [f"user:{broken}"]
    assert malformed[f"user:{broken}"].startswith(f"user:{broken} is malformed: ")

    client.set(absent, _user(absent, "Борис"))
    users, _, _ = reference.lookup({absent}, set())
    assert users == {absent: User(absent, "Борис", "login", users[absent].update_ts_utc)}


def _users(client, count: int) -> list[str]:
    ids = [uuid.uuid4().hex[:24] for _ in range(count)]
    client.mset({user_id: _user(user_id, "Вера") for user_id in ids})
    return ids


def test_the_cache_keeps_at_most_its_bound_of_records_however_many_ids_pass(stack):
    """Memory is bounded by settings, never by the number of users ever seen (docs/spec.md §3)."""
    client = redis_client()
    ids = _users(client, 5000)
    reference = ReferenceData(client, max_age_s=3600, max_entries=1000)
    for start in range(0, len(ids), 500):
        chunk = set(ids[start:start + 500])
        assert set(reference.lookup(chunk, set()).users) == chunk
        assert len(reference) <= 1000
    assert len(reference) == 1000


def test_records_older_than_the_bound_leave_the_cache(stack):
    """A record is served for a few seconds only, so keeping it longer is memory for nothing."""
    client = redis_client()
    first, later = _users(client, 2000), _users(client, 1)
    reference = ReferenceData(client, max_age_s=0.2)
    reference.lookup(set(first), set())
    time.sleep(0.3)
    reference.lookup(set(later), set())
    assert len(reference) == 1


def _restaurant(restaurant_id: str, dishes: int) -> bytes:
    menu = [{"_id": f"{restaurant_id}-{number:06d}", "name": f"Блюдо дня с лесными грибами №{number}",
             "price": 450.5, "category": ("Супы", "Салаты", "Десерты")[number % 3]} for number in range(dishes)]
    return msgspec.json.encode({"_id": restaurant_id, "name": "Кафе", "update_ts_utc": "2024-01-01 00:00:00",
                                "menu": menu})


def test_a_cached_menu_keeps_of_each_dish_only_what_an_order_needs(stack):
    """Menus only grow in a long run (the generator adds a dish or two a second): the cache keeps each dish's
    category by id, not the whole record, and the menu is indexed once when fetched, not in every batch."""
    client = redis_client()
    restaurant_id, dishes = uuid.uuid4().hex[:24], 5000
    client.set(restaurant_id, _restaurant(restaurant_id, dishes))
    reference = ReferenceData(client, max_age_s=3600)
    tracemalloc.start()
    try:
        restaurant = reference.lookup(set(), {restaurant_id}).restaurants[restaurant_id]
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert restaurant.name == "Кафе" and len(restaurant.categories) == dishes
    assert restaurant.categories[f"{restaurant_id}-000004"] == "Салаты"
    assert reference.lookup(set(), {restaurant_id}).restaurants[restaurant_id] is restaurant  # indexed once
    # An id and a dictionary slot: ~100 bytes a dish; the decoded record (struct, name, price, category) ~385.
    assert kept / dishes < 200, f"{kept / dishes:.0f} bytes kept per cached dish"
