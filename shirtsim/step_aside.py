"""Background work that steps aside while a visitor's page is being drawn.

The model's warm-up (importing TensorFlow, building VGG16: 6-8 s of one core in the server)
shares two cores with the visitors' page runs and their browsers. Clicks made during it took
0.27-0.29 s to draw instead of 0.18-0.20 s (docs/performance.md, "The warm-up"). A lower
operating-system priority did not help: most of it is Python, which holds the interpreter's lock.

So the page says when a run starts and ends (:data:`PAGE_RUNS`), and background work asks
:meth:`Courtesy.pause` at points where it can wait: between its steps, and before each module it
imports (Python's ``import`` audit event, raised before any import lock is taken: a meta-path
finder would wait holding the global import lock, and stop every other thread's imports). It
waits there while a run goes on, and a moment after, while the run's reply travels.

Before an import, the task still holds the locks of the modules it is partway importing. A page
run importing one of them would wait with it: TensorFlow imports pandas, which the quality page
imports too. So a task pauses before an import only while every module it is partway importing
belongs to its own packages, which pages import only through the task itself.

It never waits long: a run that outlasts :data:`LONGEST_WAIT_S` (one showing a rebuild's
progress, or one that waits for this very work, as an upload waits for the model) ends the
stepping aside for good, and so does :meth:`Courtesy.hurry`. A task steps aside for
:data:`BUDGET_S` at most in all.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

LONGEST_WAIT_S = 2.0  # a click's run takes 0.05-1 s: one that takes longer is not helped by waiting
AFTER_RUN_S = 0.5  # quiet this long after a run: its reply drawn, and the visitor not clicking on
BUDGET_S = 10.0  # the most one task is delayed (an upload hurries it at once)


class PageRuns:
    """Which page runs are going on, process-wide (each runs on a thread of its own)."""

    def __init__(self) -> None:
        self._running: dict[int, float] = {}  # thread -> when its run started
        self._last_end = float("-inf")
        self._changed = threading.Condition()

    def started(self) -> None:
        with self._changed:
            self._running.setdefault(threading.get_ident(), time.monotonic())  # a nested start keeps the first

    def ended(self) -> None:
        with self._changed:
            self._running.pop(threading.get_ident(), None)
            self._last_end = time.monotonic()
            self._changed.notify_all()

    def going_on(self) -> int:
        """How many runs are going on now."""
        with self._changed:
            return len(self._running)

    def _wait_for(self, now: float) -> float | None:
        """Seconds until the pages are quiet (0: quiet now), or None when a run has gone on for
        :data:`LONGEST_WAIT_S`: waiting is not helping it (or it never said it ended)."""
        if self._running:
            oldest = min(self._running.values())
            return None if now - oldest >= LONGEST_WAIT_S else oldest + LONGEST_WAIT_S - now
        return max(0.0, self._last_end + AFTER_RUN_S - now)

    def wait_for_quiet(self, timeout: float, give_up: Callable[[], bool] = lambda: False) -> bool:
        """Wait until no run is going on (and none ended a moment ago). False if ``timeout`` came
        first, a run went on too long, or ``give_up()`` (checked whenever :meth:`wake` is called)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not give_up():
                now = time.monotonic()
                wait = self._wait_for(now)
                if wait is None or now >= deadline:
                    return False
                if wait == 0:
                    return True
                self._changed.wait(min(wait, deadline - now))
            return False

    def wake(self) -> None:
        """Waiters look again at whether to give up."""
        with self._changed:
            self._changed.notify_all()


PAGE_RUNS = PageRuns()


class Courtesy:
    """One background task's stepping aside for :class:`PageRuns` (see the module docstring)."""

    def __init__(self, runs: PageRuns = PAGE_RUNS, budget: float = BUDGET_S) -> None:
        self._runs = runs
        self._left = budget
        self._done = False

    @property
    def stepping_aside(self) -> bool:
        return not self._done

    def hurry(self) -> None:
        """Someone waits for this task now: it stops stepping aside, a pause under way included."""
        self._done = True
        self._runs.wake()

    def pause(self) -> None:
        """Wait while a page run goes on, within the task's budget."""
        if self._done:
            return
        began = time.monotonic()
        quiet = self._runs.wait_for_quiet(self._left, lambda: self._done)
        self._left -= time.monotonic() - began
        if not quiet or self._left <= 0:
            self._done = True

    @contextlib.contextmanager
    def between_imports(self, own_packages: Collection[str]) -> Iterator[None]:
        """Pause before each module the calling thread imports, while inside the block, unless it
        is partway importing a module outside ``own_packages`` (top-level names: "tensorflow")."""
        _install_audit_hook()
        thread = threading.get_ident()
        _PAUSING[thread] = _Pausing(self, frozenset(own_packages))
        try:
            yield
        finally:
            del _PAUSING[thread]


@dataclass(frozen=True)
class _Pausing:
    courtesy: Courtesy
    own_packages: frozenset[str]


_PAUSING: dict[int, _Pausing] = {}  # thread -> how its imports pause
_HOOKED = threading.Lock()
_hook_installed = False


def _install_audit_hook() -> None:
    """Once per process (an audit hook cannot be removed: when nothing pauses it returns at once)."""
    global _hook_installed  # noqa: PLW0603 (one hook per process)
    with _HOOKED:
        if not _hook_installed:
            sys.addaudithook(_before_import)
            _hook_installed = True


def _before_import(event: str, args: tuple) -> None:  # noqa: ARG001
    if event == "import" and _PAUSING:
        thread = threading.get_ident()
        pausing = _PAUSING.get(thread)
        if pausing is not None and pausing.courtesy.stepping_aside:
            partway = _partway_imports(thread)
            if partway is not None and all(name.partition(".")[0] in pausing.own_packages for name in partway):
                pausing.courtesy.pause()


def _partway_imports(thread: int) -> list[str] | None:
    """The modules ``thread`` is partway importing (it holds their import locks), or None when this
    Python does not say (CPython keeps them in the private ``importlib._bootstrap._module_locks``)."""
    try:
        locks = list(importlib._bootstrap._module_locks.items())  # noqa: SLF001 (see above; a C-level copy)
        held = []
        for name, ref in locks:
            lock = ref() if isinstance(ref, weakref.ref) else ref
            if getattr(lock, "owner", None) == thread:
                held.append(name)
    except (AttributeError, TypeError, RuntimeError):
        return None  # no pausing inside imports then: never hold a lock a page may wait for
    return held
