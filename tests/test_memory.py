"""A service gives back the memory a large batch used once it is freed (runtime/memory.py)."""

from __future__ import annotations

from streamvault.runtime.memory import GROWTH_BYTES, FreedMemory, resident_bytes

MIB = 2**20


def _freed_with_survivors(total_bytes: int) -> list[bytes]:
    """Allocates `total_bytes` in values of a batch's size (~1.5 kB, from malloc, not Python's small-object
    pools) and frees them, keeping one in fifty alive: the freed pages sit between live values, so glibc
    cannot return them by shrinking its heap and keeps them resident."""
    values = [bytes(1500) + i.to_bytes(4, "little") for i in range(total_bytes // 1500)]
    return values[::50]


def test_memory_freed_after_a_large_batch_is_given_back_once_it_has_grown_past_the_threshold():
    freed = FreedMemory()
    survivors = _freed_with_survivors(4 * GROWTH_BYTES)
    grown = resident_bytes()
    assert grown - freed.after_last_trim >= 3 * GROWTH_BYTES, "the freed values are not held resident"
    assert freed.release_if_grown()
    assert resident_bytes() < grown - 2 * GROWTH_BYTES
    assert freed.after_last_trim == resident_bytes()
    assert len(survivors) > 0


def test_nothing_is_trimmed_while_the_process_stays_within_the_threshold():
    freed = FreedMemory()
    survivors = _freed_with_survivors(GROWTH_BYTES // 4)
    assert not freed.release_if_grown()
    assert len(survivors) > 0
