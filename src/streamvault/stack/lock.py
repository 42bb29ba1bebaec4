"""One stack command at a time per state folder: two `up` at once would each start servers and
overwrite the other's pid files, leaving servers that no `down` can find."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def folder_lock(home: Path, *, on_wait: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Hold `<home>/lock` exclusively; `on_wait` runs once if another command holds it (we then wait).

    The kernel drops the lock when its holder exits, however it exits: no stale lock to clean up.
    """
    home.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(home / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
