"""Satellites are insert-only history: a row only on change, and a late version never becomes current."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

import pytest

from streamvault.dds.transform import Version, new_satellite_rows
from streamvault.hashing import hash_diff


def obs(hour: int, status: str, sent: int = 0) -> Version:
    """A version with update_ts at `hour`, sent `sent` seconds later."""
    update_ts = datetime(2024, 1, 1, hour)
    return Version((update_ts, update_ts + timedelta(seconds=sent)), hash_diff("s_order_status", status), (status,))


def hours(rows: list[Version]) -> list[tuple[int, str]]:
    return [(r.effective[0].hour, r.attributes[0]) for r in rows]


def replay(arrivals: list[Version]) -> list[Version]:
    """Feed observations one batch at a time, as the service does, and return the table's rows."""
    rows: list[Version] = []
    watermark = None
    for observation in arrivals:
        added, watermark = new_satellite_rows(rows, watermark, [observation])
        rows = sorted(rows + added, key=lambda r: r.effective)
    return rows


def current(rows: list[Version]) -> str:
    return max(rows, key=lambda r: r.effective).attributes[0]


def test_in_order_versions_add_a_row_only_on_change():
    rows = replay([obs(1, "OPEN"), obs(2, "OPEN"), obs(3, "CLOSED"), obs(4, "CLOSED")])
    assert hours(rows) == [(1, "OPEN"), (3, "CLOSED")]


def test_replaying_any_version_adds_nothing():
    arrivals = [obs(1, "CLOSED"), obs(2, "CANCELLED"), obs(3, "CLOSED")]
    rows = replay(arrivals)
    assert replay(arrivals + arrivals) == rows


def test_a_late_older_version_is_history_not_current():
    rows = replay([obs(3, "CANCELLED"), obs(1, "CLOSED")])
    assert current(rows) == "CANCELLED"
    assert [r.attributes[0] for r in rows] == ["CLOSED", "CANCELLED"]


def test_late_version_between_unchanged_versions_keeps_the_newest_current():
    # CLOSED at 1 and 3 (3 adds no row), then CANCELLED at 2 arrives late.
    rows = replay([obs(1, "CLOSED"), obs(3, "CLOSED"), obs(2, "CANCELLED")])
    assert current(rows) == "CLOSED"
    assert hours(rows) == [(1, "CLOSED"), (2, "CANCELLED"), (3, "CLOSED")]


# The newest version of each set is CANCELLED. The second shares update_ts between versions: sent_dttm orders them.
VERSION_SETS = {
    "one update_ts each": [obs(1, "CLOSED"), obs(2, "CANCELLED"), obs(3, "CLOSED"), obs(4, "CLOSED"), obs(5, "CANCELLED")],
    "shared update_ts": [obs(1, "CLOSED", 1), obs(1, "CANCELLED", 5), obs(2, "CLOSED", 1), obs(2, "CLOSED", 3),
                         obs(2, "CANCELLED", 4)],
}


def test_of_versions_with_one_update_ts_the_later_sent_is_current():
    """update_ts has 1-second resolution: sent_dttm breaks the tie, whichever arrives first."""
    closed, cancelled = obs(1, "CLOSED", 1), obs(1, "CANCELLED", 5)
    assert current(replay([closed, cancelled])) == "CANCELLED"
    assert current(replay([cancelled, closed])) == "CANCELLED"
    assert current(new_satellite_rows([], None, [cancelled, closed])[0]) == "CANCELLED"


@pytest.mark.parametrize("versions", VERSION_SETS.values(), ids=VERSION_SETS.keys())
def test_the_current_row_is_the_newest_version_in_every_arrival_order(versions):
    for arrivals in itertools.permutations(versions):
        rows = replay(list(arrivals))
        assert current(rows) == "CANCELLED", arrivals
        assert {(r.effective, r.attributes) for r in rows} <= {(v.effective, v.attributes) for v in versions}
        assert {r.attributes[0] for r in rows} == {"CLOSED", "CANCELLED"}


def test_one_batch_with_several_versions_equals_in_order_processing():
    versions = [obs(4, "CLOSED"), obs(1, "OPEN"), obs(2, "OPEN"), obs(3, "CLOSED")]
    added, watermark = new_satellite_rows([], None, versions)
    assert hours(added) == [(1, "OPEN"), (3, "CLOSED")]
    assert watermark == (datetime(2024, 1, 1, 4), datetime(2024, 1, 1, 4))


@pytest.mark.parametrize("versions", VERSION_SETS.values(), ids=VERSION_SETS.keys())
def test_how_arrivals_are_cut_into_batches_changes_nothing(versions):
    """A batch is its versions in effective order, one at a time: whatever the batch boundaries."""
    for arrivals in itertools.permutations(versions):
        for cuts in itertools.product((False, True), repeat=len(arrivals) - 1):
            batches, batch = [], [arrivals[0]]
            for cut, version in zip(cuts, arrivals[1:], strict=True):
                if cut:
                    batches.append(batch)
                    batch = []
                batch.append(version)
            batches.append(batch)
            rows: list[Version] = []
            watermark = None
            for batch in batches:
                added, watermark = new_satellite_rows(rows, watermark, batch)
                rows = sorted(rows + added, key=lambda r: r.effective)
            one_by_one = replay([v for batch in batches for v in sorted(batch, key=lambda v: v.effective)])
            assert rows == one_by_one, (arrivals, cuts)


def _from_the_row_before(rows: list[Version], since) -> list[Version]:
    """What DDS reads of a key's rows (dds/sql/name_history.sql): the last row before `since`, and every
    row from `since` on."""
    before = [row for row in rows if row.effective < since]
    return ([max(before, key=lambda r: r.effective)] if before else []) + [r for r in rows if r.effective >= since]


@pytest.mark.parametrize("seed", range(200))
def test_the_rows_before_the_one_preceding_a_batch_change_nothing(seed):
    """DDS reads a key's history only from the row before the batch's earliest version: the older rows must
    never change which rows a batch adds, nor the watermark it leaves."""
    rng = random.Random(seed)
    statuses = ("OPEN", "COOKING", "CLOSED")

    def some(count: int) -> list[Version]:
        return [obs(rng.randrange(24), rng.choice(statuses), sent=rng.randrange(3)) for _ in range(count)]

    history, watermark = [], None
    for batch in (some(rng.randrange(1, 4)) for _ in range(rng.randrange(1, 8))):
        added, moved = new_satellite_rows(history, watermark, batch)
        history, watermark = sorted(history + added, key=lambda r: r.effective), moved or watermark
    seen = some(rng.randrange(1, 5))
    since = min(version.effective for version in seen)
    assert new_satellite_rows(_from_the_row_before(history, since), watermark, seen) == \
        new_satellite_rows(history, watermark, seen)
