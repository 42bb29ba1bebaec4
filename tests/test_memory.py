"""A service gives back the memory a large batch used once it is freed (runtime/memory.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from streamvault.runtime.memory import GROWTH_BYTES

# In a process of its own: a long-lived one (a test worker) has freed memory of its own to reuse first.
# Values of a batch's size (~1.5 kB: malloc's, not Python's small-object pools), all freed but one in fifty:
# the freed pages sit between live values, so glibc cannot return them by shrinking its heap.
_A_LARGE_BATCH_FREED = """
import json, sys
from streamvault.runtime.memory import FreedMemory, resident_bytes

freed = FreedMemory()
before = freed.after_last_trim
values = [bytes(1500) + i.to_bytes(4, "little") for i in range(int(sys.argv[1]) // 1500)]
survivors = values[::50]
del values
grown = resident_bytes()
trimmed = freed.release_if_grown()
print(json.dumps({"before": before, "grown": grown, "trimmed": trimmed, "after": resident_bytes(),
                  "reference": freed.after_last_trim, "survivors": len(survivors)}))
"""


def _run(total_bytes: int) -> dict:
    result = subprocess.run([sys.executable, "-c", _A_LARGE_BATCH_FREED, str(total_bytes)], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout)


def test_memory_freed_after_a_large_batch_is_given_back_once_it_has_grown_past_the_threshold():
    run = _run(4 * GROWTH_BYTES)
    assert run["grown"] - run["before"] >= 3 * GROWTH_BYTES, f"the freed values are not held resident: {run}"
    assert run["trimmed"]
    assert run["after"] < run["grown"] - 2 * GROWTH_BYTES, run
    # The next trim counts from where this one left the process (a page or two either way: RSS is read twice).
    assert abs(run["reference"] - run["after"]) < 2**20, run


def test_nothing_is_trimmed_while_the_process_stays_within_the_threshold():
    run = _run(GROWTH_BYTES // 4)
    assert not run["trimmed"], run
    assert run["reference"] == run["before"]
