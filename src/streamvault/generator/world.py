"""Reference data (docs/spec.md §1.2): users and restaurants with menus, their popularity, and their changes."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from streamvault.contracts.source import MenuItem, Restaurant, User
from streamvault.generator import names
from streamvault.generator.model import RedisKind, RedisWrite, fmt


def new_id(rng: random.Random) -> str:
    """24 hex digits, like the source system's Mongo ObjectIds."""
    return f"{rng.getrandbits(96):024x}"


def money(kopecks: int) -> int | float:
    """Whole roubles stay integers in JSON (as in the source), the rest get kopecks."""
    return kopecks // 100 if kopecks % 100 == 0 else kopecks / 100


class Zipf:
    """Picks rank r (0-based) out of n with weight 1/(r+1)^s: a few users, restaurants and dishes
    get most of the orders, as in real delivery data."""

    def __init__(self, exponent: float):
        self._exponent = exponent
        self._cumulative: list[float] = []

    def index(self, rng: random.Random, n: int) -> int:
        while len(self._cumulative) < n:
            previous = self._cumulative[-1] if self._cumulative else 0.0
            self._cumulative.append(previous + 1.0 / (len(self._cumulative) + 1) ** self._exponent)
        return bisect.bisect_right(self._cumulative, rng.random() * self._cumulative[n - 1], 0, n - 1)


@dataclass
class Dish:
    id: str
    base_name: str
    name: str
    price: int  # kopecks: exact sums
    category: str


@dataclass
class UserState:
    id: str
    name: str
    login: str
    updated: datetime

    def write(self, kind: RedisKind) -> RedisWrite:
        # The contract types update_ts_utc as datetime for decoding; on the wire it is docs/spec.md's text form.
        value = User(id=self.id, name=self.name, login=self.login,
                     update_ts_utc=fmt(self.updated))  # type: ignore[arg-type]
        return RedisWrite(self.id, msgspec.json.encode(value), kind)


@dataclass
class RestaurantState:
    id: str
    name: str
    updated: datetime
    menu: list[Dish]  # in popularity order: the first dish is ordered most

    def write(self, kind: RedisKind) -> RedisWrite:
        menu = [MenuItem(id=d.id, name=d.name, price=money(d.price), category=d.category) for d in self.menu]
        value = Restaurant(id=self.id, name=self.name, update_ts_utc=fmt(self.updated),  # type: ignore[arg-type]
                           menu=menu)
        return RedisWrite(self.id, msgspec.json.encode(value), kind)


def _touch(updated: datetime, now: datetime) -> datetime:
    """A change is always strictly newer than the version it replaces."""
    return max(now, updated + timedelta(seconds=1))


class World:
    """The source system's reference data, mutated by changes as the simulated clock runs."""

    def __init__(self, rng: random.Random, users: int, restaurants: int, start: datetime):
        self._rng = rng
        self._logins: set[str] = set()
        self._users_zipf, self._restaurants_zipf, self._dishes_zipf = Zipf(0.8), Zipf(1.0), Zipf(0.9)
        self.users = [self.new_user(self._past(start)) for _ in range(users)]
        self.restaurants = [self.new_restaurant(self._past(start)) for _ in range(restaurants)]

    def _past(self, start: datetime) -> datetime:
        return start - timedelta(seconds=self._rng.randint(86_400, 365 * 86_400))

    def new_user(self, updated: datetime) -> UserState:
        name, login = names.person(self._rng)
        while login in self._logins:
            login += str(self._rng.randint(0, 9))
        self._logins.add(login)
        return UserState(new_id(self._rng), name, login, updated)

    def new_restaurant(self, updated: datetime) -> RestaurantState:
        rng = self._rng
        menu = [self._dish(category, name)
                for category, (dishes, _) in names.DISHES.items()
                for name in rng.sample(dishes, rng.randint(1, min(4, len(dishes))))]
        rng.shuffle(menu)
        return RestaurantState(new_id(rng), names.restaurant_name(rng), updated, menu)

    def _dish(self, category: str, name: str) -> Dish:
        return Dish(new_id(self._rng), name, name, names.dish_price_kopecks(self._rng, category), category)

    def new_dish(self, restaurant: RestaurantState) -> Dish:
        """A dish the restaurant does not serve yet (not added to its menu here)."""
        rng = self._rng
        category = rng.choice(tuple(names.DISHES))
        served = {dish.base_name for dish in restaurant.menu}
        unused = [name for name in names.DISHES[category][0] if name not in served]
        name = rng.choice(unused) if unused else f"Блюдо дня №{len(restaurant.menu) + 1}"
        return self._dish(category, name)

    def pick_user(self) -> UserState:
        return self.users[self._users_zipf.index(self._rng, len(self.users))]

    def pick_restaurant(self) -> RestaurantState:
        return self.restaurants[self._restaurants_zipf.index(self._rng, len(self.restaurants))]

    def pick_dishes(self, restaurant: RestaurantState, count: int) -> list[Dish]:
        """`count` distinct dishes, popular ones more often."""
        picked: dict[str, Dish] = {}
        count = min(count, len(restaurant.menu))
        while len(picked) < count:
            dish = restaurant.menu[self._dishes_zipf.index(self._rng, len(restaurant.menu))]
            picked.setdefault(dish.id, dish)
        return list(picked.values())

    def change(self, now: datetime) -> RedisWrite:
        """One realistic edit: a user or restaurant renamed, a dish renamed, repriced or added."""
        rng = self._rng
        roll = rng.random()
        if roll < 0.35:
            user = self.pick_user()
            user.name, user.updated = names.person(rng)[0], _touch(user.updated, now)
            return user.write("change")
        restaurant = self.pick_restaurant()
        restaurant.updated = _touch(restaurant.updated, now)
        if roll < 0.5:
            restaurant.name = names.restaurant_name(rng)
        elif roll < 0.9:
            dish = restaurant.menu[self._dishes_zipf.index(rng, len(restaurant.menu))]
            if roll < 0.75:
                renamed = rng.choice(names.DISH_RENAMES).format(dish.base_name)
                dish.name = renamed if renamed != dish.name else dish.base_name
            else:
                dish.price = max(1000, int(round(dish.price * rng.uniform(0.85, 1.25), -3)))
        else:
            restaurant.menu.append(self.new_dish(restaurant))
        return restaurant.write("change")
