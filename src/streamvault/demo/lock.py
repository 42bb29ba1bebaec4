"""One demo per state folder: a second one would take the first's pid files for leftovers and stop its
children, then its stack."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class AnotherDemo(Exception):
    """Another demo holds the folder; the text names it and says how to stop it."""


@contextmanager
def only_demo_of(home: Path) -> Iterator[None]:
    """Hold `<home>/demo/lock` while the demo runs. The kernel releases it when the process ends, even by
    kill -9, so a lock is never stale; children do not inherit it (subprocess closes other descriptors)."""
    path = home / "demo" / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            raise AnotherDemo(f"another demo runs in {home} (pid {holder}): stop it first "
                              f"(Ctrl-C in its terminal, or kill {holder})") from None
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield
