"""A service's real loop run in the test's own process, so that a test can change or watch its code."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from streamvault.runtime.loop import ServiceLoop
from streamvault.services import build_loop
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import free_port


def in_process(pipeline: Pipeline, service: str, monkeypatch: pytest.MonkeyPatch) -> ServiceLoop:
    """The service's loop with the pipeline's settings for its first replica."""
    for name, value in pipeline.env(service, 0, free_port()).items():
        monkeypatch.setenv(name, value)
    return build_loop(service)


def run_until(loop: ServiceLoop, steps: list[tuple[Callable[[], bool], str, Callable[[], None]]],
              timeout: float = 120) -> None:
    """Run the loop until each step's condition held in turn (then its action runs), or the time is up."""
    reached: list[str] = []

    def watch() -> None:
        try:
            for condition, what, action in steps:
                deadline = time.monotonic() + timeout
                while not condition():
                    if time.monotonic() > deadline or loop.stopping.is_set():
                        return
                    time.sleep(0.5)
                reached.append(what)
                action()
        finally:
            loop.stopping.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    loop.run()
    watcher.join()
    missed = [what for _, what, _ in steps if what not in reached]
    assert not missed, f"timed out waiting for: {missed[0]}"
