"""Long computations shared by every visitor, run so that nobody waits for what they did not ask.

Building an index, re-indexing, a catalog map, a quality measurement, a duplicate scan: each
runs once per key in a background thread (:class:`Jobs`). Whoever asks for a key waits for that
key's job alone, and sees its progress; two visitors asking for the same key share one job;
nobody else waits at all (no lock is held while the work runs). The job's thread is lowered in
priority (:data:`NICENESS`), so on two cores a visitor's page run comes first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from shirtsim.progress import ProgressFn

NICENESS = 10  # a background job yields the CPU to page runs (Linux: per thread)
POLL_S = 0.2  # how often a waiting visitor's progress bar is redrawn
log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class _Job(Generic[T]):
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None
    status: tuple[int, int, str] | None = None  # the latest progress report

    def report(self, done: int, total: int, what: str) -> None:
        self.status = (done, total, what)


class Jobs:
    """At most one running job per key; see the module docstring."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._running: dict[Hashable, _Job] = {}
        self._lock = threading.Lock()  # guards _running only: held for microseconds

    def run(self, key: Hashable, work: Callable[[ProgressFn], T], progress: ProgressFn | None = None) -> T:
        """``work(progress)``'s result: started in a background thread unless a job for ``key``
        runs already, which is then waited for instead. ``progress`` sees the job's reports. The
        job's exception, if any, is raised here (in every waiter)."""
        with self._lock:
            job = self._running.get(key)
            if job is None:
                job = self._running[key] = _Job()
                thread = threading.Thread(
                    target=self._work, args=(key, job, work), name=f"shirtsim-{self.name}", daemon=True
                )
                thread.start()
        shown = None
        while not job.done.wait(POLL_S):
            if progress is not None and job.status is not None and job.status != shown:
                shown = job.status
                progress(*shown)
        if progress is not None and job.status is not None and job.status != shown:
            progress(*job.status)
        if job.error is not None:
            raise job.error
        return job.result

    def running(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._running

    def _work(self, key: Hashable, job: _Job, work: Callable[[ProgressFn], Any]) -> None:
        lower_priority()
        try:
            job.result = work(job.report)
        except BaseException as e:  # noqa: BLE001 (handed to every waiter, who reports it)
            job.error = e
        finally:
            with self._lock:
                del self._running[key]
            job.done.set()


def lower_priority() -> None:
    """Lower the calling thread's CPU priority to :data:`NICENESS` (Linux: per thread; threads it
    starts inherit it), so the page's own work comes first on a busy machine."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
