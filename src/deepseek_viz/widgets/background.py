"""Work a view runs off the kernel's message thread: a :class:`Job` (a thread of its own and a cancel
flag the work checks between steps) and a :class:`Throttle` (at most so many updates a second).

The kernel keeps answering the browser while a job runs; the job publishes its progress through the
view's traits (ipywidgets sends trait changes from any thread). The generation view's runs (stopped
between tokens, their steps batched) and the attribution view's SHAP/LIME runs (cancelled between
batches of evaluations, their progress throttled) are both jobs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Job:
    """One piece of work: ``cancel`` (a :class:`threading.Event` the work checks between steps) and,
    once :meth:`start` ran it in a thread, ``thread``. A job run in the caller's thread has none."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cancel = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, work: Callable[[Job], None]) -> None:
        """Run ``work(self)`` in a daemon thread of its own."""
        self.thread = threading.Thread(
            target=work, args=(self,), daemon=True, name=f"deepseek-viz {self.name}"
        )
        self.thread.start()

    @property
    def running(self) -> bool:
        """Whether its thread is still running."""
        return self.thread is not None and self.thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait at most ``timeout`` seconds for its thread; whether it has ended (a job without a thread
        has)."""
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.running


class Throttle:
    """``ready()`` is true at most ``per_second`` times a second (the first call always)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._last = -float("inf")

    def ready(self) -> bool:
        """Whether an update may go now (and, if so, counts it)."""
        now = time.monotonic()
        if now - self._last < self.interval:
            return False
        self._last = now
        return True
