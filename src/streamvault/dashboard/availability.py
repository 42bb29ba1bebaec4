"""Whether the warehouse answers the dashboard, as the operator reads it in the log: one line when its
queries start failing (with why), one when they work again; never one per poll or probe."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)


class Availability:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problem: str | None = None

    def failed(self, problem: str, cause: Exception) -> None:
        with self._lock:
            if problem != self._problem:
                logger.error("warehouse queries fail: %s (%s: %s)", problem, type(cause).__name__, cause)
                self._problem = problem

    def answered(self) -> None:
        with self._lock:
            if self._problem is not None:
                logger.info("warehouse queries work again")
                self._problem = None
