"""shirtsim.feed.access: the editor password, compared in constant time, wrong tries slowed down."""

from __future__ import annotations

import threading

import pytest

from shirtsim.feed.access import MAX_DELAY, MAX_WAITING, PasswordGate, SignInBusy


def test_no_password_set_lets_everyone_edit():
    gate = PasswordGate("")
    assert not gate.required and gate.check("") and gate.check("anything")


def test_wrong_tries_wait_longer_each_time_until_a_right_one():
    waits: list[float] = []
    gate = PasswordGate("s3cret", sleep=waits.append)
    assert gate.required
    assert [gate.check(x) for x in ("s3cre", "S3cret", "s3cret ", "")] == [False] * 4
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert gate.check("s3cret") and waits == [1.0, 2.0, 4.0, 8.0]  # a right one costs nothing
    for _ in range(8):
        gate.check("nope")
    assert waits[4:] == [1.0, 2.0, 4.0, 8.0, 16.0, MAX_DELAY, MAX_DELAY, MAX_DELAY]


def test_guesses_from_many_sessions_wait_one_after_another():
    order: list[str] = []
    gate = PasswordGate("s3cret", sleep=lambda s: (order.append("sleep"), threading.Event().wait(0.05)))
    threads = [threading.Thread(target=gate.check, args=("wrong",)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order == ["sleep"] * 4 and gate._wrong == 4


def test_a_flood_of_guesses_turns_the_extra_ones_away_unchecked_and_the_editor_gets_in_after():
    release = threading.Event()
    gate = PasswordGate("s3cret", sleep=lambda s: release.wait(5))
    threads = [threading.Thread(target=gate.check, args=("wrong",)) for _ in range(MAX_WAITING)]
    for t in threads:
        t.start()
    while gate._queue._value:  # every slot taken: one checking, the rest waiting
        threading.Event().wait(0.01)
    with pytest.raises(SignInBusy, match=r"^Too many sign-in attempts at once: try again in a minute\.$"):
        gate.check("s3cret")  # not checked at all: right or wrong, the flood learns nothing
    release.set()
    for t in threads:
        t.join()
    assert gate._wrong == MAX_WAITING and gate.check("s3cret") and gate._wrong == 0


def test_the_setting_is_the_default_secret(monkeypatch):
    monkeypatch.setenv("SHIRTSIM_EDITOR_PASSWORD", "from-env")
    gate = PasswordGate(sleep=lambda s: None)
    assert gate.check("from-env") and not gate.check("other")
