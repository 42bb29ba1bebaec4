"""STG's view of Redis: batched reads, and a cache that never serves a record older than its bound."""

from __future__ import annotations

import uuid

import msgspec

from streamvault.contracts.source import User
from streamvault.stg.reference import ReferenceData
from support import redis_client


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
    users, restaurants = reference.lookup({absent, broken}, {absent})
    assert users == {} and restaurants == {}

    client.set(absent, _user(absent, "Борис"))
    users, _ = reference.lookup({absent}, set())
    assert users == {absent: User(absent, "Борис", "login", users[absent].update_ts_utc)}
