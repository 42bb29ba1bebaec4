"""A service gives back the memory a large batch used once it is freed, and malloc keeps no more than it
must (runtime/memory.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

from streamvault.generator.model import GeneratorOptions
from streamvault.generator.simulator import build_timeline
from streamvault.runtime.memory import ARENA_MAX, GROWTH_BYTES
from streamvault.testing.corpus import CLEAN, publish_timeline
from streamvault.testing.procfs import resident_by_region

# In a process of its own: a long-lived one (a test worker) has freed memory of its own to reuse first.
# Values of a batch's size (~1.5 kB: malloc's, not Python's small-object pools), all freed but one in fifty:
# the freed pages sit between live values, so glibc cannot return them by shrinking its heap.
_A_LARGE_BATCH_FREED = """
import json, sys
from streamvault.runtime.memory import FreedMemory, resident_bytes

freed = FreedMemory(batch_size=5000)
before = freed.after_last_trim
values = [bytes(1500) + i.to_bytes(4, "little") for i in range(int(sys.argv[1]) // 1500)]
survivors = values[::50]
del values
grown = resident_bytes()
held_through_a_large_batch = not freed.release_if_grown(last_batch=int(sys.argv[2]))
trimmed = freed.release_if_grown(last_batch=0)
print(json.dumps({"before": before, "grown": grown, "trimmed": trimmed, "after": resident_bytes(),
                  "reference": freed.after_last_trim, "survivors": len(survivors),
                  "held_through_a_large_batch": held_through_a_large_batch}))
"""


def _run(total_bytes: int, last_batch: int = 4000) -> dict:
    """Freed values of `total_bytes`, then an idle round after a batch of `last_batch` messages (of 5,000 at most)
    and an idle round after none."""
    result = subprocess.run([sys.executable, "-c", _A_LARGE_BATCH_FREED, str(total_bytes), str(last_batch)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_memory_freed_after_a_large_batch_is_given_back_once_it_has_grown_past_the_threshold():
    run = _run(4 * GROWTH_BYTES)
    assert run["grown"] - run["before"] >= 3 * GROWTH_BYTES, f"the freed values are not held resident: {run}"
    assert run["trimmed"]
    assert run["after"] < run["grown"] - 2 * GROWTH_BYTES, run
    # The next trim counts from where this one left the process (a page or two either way: RSS is read twice).
    assert abs(run["reference"] - run["after"]) < 2**20, run


def test_nothing_is_trimmed_after_a_large_batch_the_next_one_of_a_backlog_would_grow_back_into():
    """A trim between a backlog's batches was wasted: its last batch grew the heap again, short of the growth
    that calls for the next trim, and the service kept it (docs/performance.md, stop 22)."""
    for last_batch in (500, 4000):
        assert _run(4 * GROWTH_BYTES, last_batch)["held_through_a_large_batch"], last_batch
    assert not _run(4 * GROWTH_BYTES, 499)["held_through_a_large_batch"]


def test_nothing_is_trimmed_while_the_process_stays_within_the_threshold():
    run = _run(GROWTH_BYTES // 4)
    assert not run["trimmed"], run
    assert run["reference"] == run["before"]


# A batch's buffers (array parameters, message sets) freed after a larger one: with glibc's moving threshold they
# stay in the heap, held resident by what the batch left alive after them; mapped on their own, they go back.
_BUFFERS_AFTER_A_LARGER_ONE = """
import json, sys
from streamvault.runtime.memory import bound_malloc, resident_bytes

if sys.argv[1] == "bounded":
    bound_malloc()
bytes(8 * 2**20)  # made and freed: glibc now maps only blocks of 8 MiB and up on their own (unless bounded)
before = resident_bytes()
buffers, survivors = [], []
for i in range(100):
    buffers.append(bytearray(300 * 2**10))
    survivors.append(bytes(1500) + i.to_bytes(4, "little"))
grown = resident_bytes()
del buffers
print(json.dumps({"before": before, "grown": grown, "after": resident_bytes()}))
"""


def _buffers_freed(mode: str) -> dict:
    result = subprocess.run([sys.executable, "-c", _BUFFERS_AFTER_A_LARGER_ONE, mode], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout)


def test_large_buffers_freed_go_back_even_after_a_larger_block_raised_mallocs_threshold():
    bounded, default = _buffers_freed("bounded"), _buffers_freed("default")
    for run in (bounded, default):
        assert run["grown"] - run["before"] >= 25 * 2**20, f"the buffers were not resident: {run}"
    assert default["after"] - default["before"] >= 20 * 2**20, f"glibc's default gave them back anyway: {default}"
    assert bounded["after"] - bounded["before"] < 2 * 2**20, bounded


def test_a_running_service_keeps_its_threads_in_the_bounded_malloc_arenas_and_reports_its_python_objects(pipeline):
    """librdkafka's broker threads, the pool's and the HTTP server's would each get an arena of their own
    (glibc allows 8 per core), and each arena keeps what it once held. Next to RSS, /metrics has the blocks
    CPython has handed out: both grow with a leak, only RSS with memory an allocator holds."""
    publish_timeline(build_timeline(GeneratorOptions(seed=5, orders=300, users=50, restaurants=5, **CLEAN)), pipeline)
    pipeline.start_all()
    pipeline.wait_drained()
    for (service, _), replica in pipeline.running.items():
        regions = resident_by_region(replica.process.pid)
        assert regions["arenas"] <= ARENA_MAX - 1, f"{service}: {regions}"
        with urllib.request.urlopen(pipeline.url(service, "/metrics"), timeout=5) as response:
            blocks = re.search(rf'^streamvault_python_allocated_blocks{{service="{service}-service"}} (\S+)$',
                               response.read().decode(), re.MULTILINE)
        assert blocks is not None and float(blocks[1]) > 10_000, f"{service}: {blocks}"
