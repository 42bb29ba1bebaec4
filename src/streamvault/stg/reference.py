"""Users and restaurants from Redis: one MGET per batch, cached no longer than a set bound."""

from __future__ import annotations

import logging
import time

import msgspec
import redis

from streamvault.contracts.source import Restaurant, User

log = logging.getLogger(__name__)

_user = msgspec.json.Decoder(User)
_restaurant = msgspec.json.Decoder(Restaurant)


class ReferenceData:
    """A record found is reused for at most `max_age_s`; a record not found is asked for again next time,
    so an order parked for missing data is completed as soon as the data is written."""

    def __init__(self, client: redis.Redis, max_age_s: float):
        self.client = client
        self.max_age_s = max_age_s
        self._users: dict[str, tuple[float, User]] = {}
        self._restaurants: dict[str, tuple[float, Restaurant]] = {}

    def lookup(self, user_ids: set[str], restaurant_ids: set[str]) -> tuple[dict[str, User], dict[str, Restaurant]]:
        now = time.monotonic()
        users = self._fresh(self._users, user_ids, now)
        restaurants = self._fresh(self._restaurants, restaurant_ids, now)
        wanted = [(i, self._users, _user, users) for i in user_ids if i not in users]
        wanted += [(i, self._restaurants, _restaurant, restaurants) for i in restaurant_ids if i not in restaurants]
        if wanted:
            values = self.client.mget([key for key, *_ in wanted])
            for (key, cache, decoder, found), raw in zip(wanted, values):
                if raw is None:
                    continue
                try:
                    record = decoder.decode(raw)
                except msgspec.DecodeError as exc:
                    log.warning("reference record %s in Redis is malformed (%s); treated as missing", key, exc)
                    continue
                cache[key] = (now, record)
                found[key] = record
        return users, restaurants

    def _fresh(self, cache: dict, ids: set[str], now: float) -> dict:
        found = {}
        for key in ids:
            entry = cache.get(key)
            if entry is not None and now - entry[0] <= self.max_age_s:
                found[key] = entry[1]
        return found

    def ping(self) -> None:
        self.client.ping()
