"""Who may edit: the editor password (``$SHIRTSIM_EDITOR_PASSWORD``), checked so that it cannot be
guessed quickly or timed.

- compared in constant time (:func:`hmac.compare_digest` on digests of equal length);
- one check at a time in the whole server, and each wrong one holds the next back: a second, then
  doubling up to :data:`MAX_DELAY`, over every session at once (a guesser who opens many tabs gains
  nothing); a right one resets the count;
- at most :data:`MAX_WAITING` tries queue for that one check; more are turned away unchecked (a
  flood of guesses then costs the real editor a "try again in a minute", not minutes of waiting,
  and tells the guesser nothing);
- the page reads it only from its password field, never from the URL (docs/feed.md).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable

from shirtsim.errors import ShirtsimError
from shirtsim.settings import EDITOR_PASSWORD

FIRST_DELAY = 1.0  # seconds a wrong password costs, doubling with each further one
MAX_DELAY = 16.0
MAX_WAITING = 4  # tries that may queue for the check at once


class SignInBusy(ShirtsimError):
    """More sign-in tries at once than :data:`MAX_WAITING`: this one was not checked."""


class PasswordGate:
    """Checks passwords against one secret (:data:`EDITOR_PASSWORD` by default)."""

    def __init__(self, secret: str | None = None, sleep: Callable[[float], None] | None = None) -> None:
        self._secret = EDITOR_PASSWORD.get() if secret is None else secret
        self._lock = threading.Lock()
        self._queue = threading.Semaphore(MAX_WAITING)  # the check's lock and those waiting for it
        self._wrong = 0  # wrong tries since the last right one, over every session
        self._sleep = sleep or (lambda seconds: time.sleep(seconds))  # looked up at each wait (tests shorten it)

    @property
    def required(self) -> bool:
        """False when no password is set: anyone may edit (a laptop demo)."""
        return bool(self._secret)

    def check(self, attempt: str) -> bool:
        """Whether ``attempt`` is the password; a wrong one returns only after its delay.
        :class:`SignInBusy` when too many tries are waiting already."""
        if not self.required:
            return True
        if not self._queue.acquire(blocking=False):
            raise SignInBusy("Too many sign-in attempts at once: try again in a minute.")
        try:
            return self._check(attempt)
        finally:
            self._queue.release()

    def _check(self, attempt: str) -> bool:
        with self._lock:  # one at a time: the delays add up over every guesser
            right = hmac.compare_digest(_digest(attempt), _digest(self._secret))
            if right:
                self._wrong = 0
                return True
            self._wrong += 1
            self._sleep(min(MAX_DELAY, FIRST_DELAY * 2 ** (self._wrong - 1)))
            return False


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
