"""Users and restaurants from Redis: one MGET per batch, cached no longer than a set bound and in a set number."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import NamedTuple

import msgspec
import redis

from streamvault.contracts.source import Restaurant, User
from streamvault.runtime.logs import event
from streamvault.stg.transform import NUL_REASON, KnownRestaurant

log = logging.getLogger(__name__)
_REPORTED_RECORDS = 10_000  # malformed records remembered as reported (32 bytes each, and the key)

_DECODERS = {"user": msgspec.json.Decoder(User), "restaurant": msgspec.json.Decoder(Restaurant)}


class Found(NamedTuple):
    users: dict[str, User]
    restaurants: dict[str, KnownRestaurant]
    # "user:<id>" / "restaurant:<id>" -> why the record in Redis cannot be used; the order waits for a fix.
    malformed: dict[str, str]


class ReferenceData:
    """A record found is reused for at most `max_age_s`, and at most `max_entries` records are kept (the
    oldest go first); a record not found or malformed is asked for again next time, so an order parked for
    it is completed as soon as the record is written."""

    def __init__(self, client: redis.Redis, max_age_s: float, max_entries: int = 20_000):
        self.client = client
        self.max_age_s = max_age_s
        self.max_entries = max_entries
        # Insertion order is age order: every entry is inserted when fetched and never refreshed in place.
        self._cache: OrderedDict[tuple[str, str], tuple[float, User | KnownRestaurant]] = OrderedDict()
        # "kind:id" -> digest of the malformed value last reported, so that each version is reported once.
        self._reported: OrderedDict[str, bytes] = OrderedDict()

    @property
    def address(self) -> str:
        where = self.client.connection_pool.connection_kwargs
        return f"{where.get('host')}:{where.get('port')}"

    def lookup(self, user_ids: set[str], restaurant_ids: set[str]) -> Found:
        now = time.monotonic()
        self._forget_older_than(now - self.max_age_s)
        found = Found({}, {}, {})
        wanted = []
        for kind, ids, into in (("user", user_ids, found.users), ("restaurant", restaurant_ids, found.restaurants)):
            for key in ids:
                entry = self._cache.get((kind, key))
                if entry is None:
                    wanted.append((kind, key, into))
                else:
                    into[key] = entry[1]
        if wanted:
            for (kind, key, into), raw in zip(wanted, self.client.mget([key for _, key, _ in wanted])):
                if raw is None:
                    continue
                try:
                    record = _decode(kind, raw)
                except _Malformed as exc:
                    found.malformed[f"{kind}:{key}"] = f"{kind}:{key} is malformed: {exc}"
                    self._report_malformed(f"{kind}:{key}", raw, str(exc))
                    continue
                self._remember((kind, key), now, record)
                into[key] = record
        return found

    def _report_malformed(self, record: str, raw: bytes, reason: str) -> None:
        """Once per record and version: its orders are re-driven every few seconds and find it again."""
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        if self._reported.get(record) == digest:
            return
        self._reported.pop(record, None)
        self._reported[record] = digest
        while len(self._reported) > _REPORTED_RECORDS:
            self._reported.popitem(last=False)
        event(log, logging.WARNING, "reference_malformed", "%s in Redis is malformed: %s; its orders wait (parked) "
              "until it is fixed", record, reason, record=record, reason=reason)

    def __len__(self) -> int:
        return len(self._cache)

    def _forget_older_than(self, oldest: float) -> None:
        while self._cache and next(iter(self._cache.values()))[0] < oldest:
            self._cache.popitem(last=False)

    def _remember(self, key: tuple[str, str], now: float, record: User | KnownRestaurant) -> None:
        self._cache.pop(key, None)  # re-inserted at the end: an entry's place is its age
        self._cache[key] = (now, record)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)

    def ping(self) -> None:
        self.client.ping()


class _Malformed(Exception):
    pass


def _decode(kind: str, raw: bytes) -> User | KnownRestaurant:
    """The record, if it fits the contract and PostgreSQL can store every text in it."""
    try:
        record = _DECODERS[kind].decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise _Malformed(str(exc)) from None
    if b"\\u0000" in raw and any("\x00" in text for text in _texts(record)):  # a raw NUL is invalid JSON
        raise _Malformed(NUL_REASON)
    return KnownRestaurant.of(record) if isinstance(record, Restaurant) else record


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _texts(getattr(value, name))
