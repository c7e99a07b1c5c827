"""Background work stepping aside for page runs (shirtsim/step_aside.py) and the model's warm-up
that uses it (shirtsim/model/loader.py)."""

import sys
import threading
import time
import types
import uuid

import pytest

from shirtsim import step_aside
from shirtsim.model.loader import ModelLoader
from shirtsim.step_aside import Courtesy, PageRuns


@pytest.fixture(autouse=True)
def short_times(monkeypatch):
    monkeypatch.setattr(step_aside, "AFTER_RUN_S", 0.3)
    monkeypatch.setattr(step_aside, "LONGEST_WAIT_S", 2.0)


def run_in_thread(runs, seconds):
    """A page run of ``seconds`` on its own thread (as Streamlit runs each); returns once it began."""
    began = threading.Event()

    def page_run():
        runs.started()
        began.set()
        time.sleep(seconds)
        runs.ended()

    thread = threading.Thread(target=page_run)
    thread.start()
    began.wait(5)
    return thread


def timed(action):
    t0 = time.monotonic()
    action()
    return time.monotonic() - t0


def test_a_pause_waits_for_the_run_and_a_moment_after_then_not_again():
    runs = PageRuns()
    courtesy = Courtesy(runs, budget=5)
    run = run_in_thread(runs, 0.4)
    waited = timed(courtesy.pause)
    run.join()
    assert 0.4 + 0.3 - 0.05 <= waited < 2.0
    assert runs.going_on() == 0
    assert timed(courtesy.pause) < 0.15  # quiet now: no wait


def test_without_a_run_a_pause_does_not_wait():
    assert timed(Courtesy(PageRuns(), budget=5).pause) < 0.15


def test_a_nested_start_keeps_the_runs_first_start(monkeypatch):
    monkeypatch.setattr(step_aside, "LONGEST_WAIT_S", 0.4)
    runs = PageRuns()
    runs.started()
    time.sleep(0.3)
    runs.started()  # a fragment inside the run: the run is 0.3 s old, not new
    assert timed(lambda: runs.wait_for_quiet(5)) < 0.3
    runs.ended()


def test_a_run_that_goes_on_too_long_ends_the_stepping_aside(monkeypatch):
    monkeypatch.setattr(step_aside, "LONGEST_WAIT_S", 0.3)
    runs = PageRuns()
    courtesy = Courtesy(runs, budget=5)
    runs.started()  # this thread's run never says it ended (or waits for the work itself)
    waited = timed(courtesy.pause)
    assert 0.25 <= waited < 1.0
    runs.ended()
    run = run_in_thread(runs, 0.3)
    assert timed(courtesy.pause) < 0.15  # given up for good
    run.join()


def test_many_short_runs_delay_the_work_no_longer_than_its_budget():
    runs = PageRuns()
    courtesy = Courtesy(runs, budget=0.3)
    stop = threading.Event()

    def clicking():  # a run every 80 ms, gaps shorter than AFTER_RUN_S: never quiet
        while not stop.is_set():
            runs.started()
            time.sleep(0.04)
            runs.ended()
            time.sleep(0.04)

    visitor = threading.Thread(target=clicking)
    visitor.start()
    try:
        time.sleep(0.05)
        assert 0.28 <= timed(courtesy.pause) < 1.0
        assert timed(courtesy.pause) < 0.15  # the budget is spent
    finally:
        stop.set()
        visitor.join()


def test_hurry_ends_a_pause_under_way():
    runs = PageRuns()
    courtesy = Courtesy(runs, budget=5)
    run = run_in_thread(runs, 0.8)
    waited = []
    worker = threading.Thread(target=lambda: waited.append(timed(courtesy.pause)))
    worker.start()
    time.sleep(0.2)
    courtesy.hurry()  # an upload needs the model now
    worker.join(5)
    run.join()
    assert waited and waited[0] < 0.5


def write_module(folder, stem):
    """A module no test imported yet (a fresh name each time)."""
    name = f"{stem}_{uuid.uuid4().hex[:8]}"
    (folder / f"{name}.py").write_text("VALUE = 1\n")
    return name


def test_imports_inside_the_block_pause_and_other_threads_imports_never_wait(tmp_path, monkeypatch):
    """The pause is taken outside Python's import locks: a page run importing a module meanwhile
    is not held up (a meta-path finder would hold the global import lock while it waited)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    warm_module, page_module, later_module = (write_module(tmp_path, stem) for stem in ("warm", "page", "later"))
    runs = PageRuns()
    courtesy = Courtesy(runs, budget=5)
    warm_up_waits = threading.Event()
    page_import = []

    def page_run():
        runs.started()
        warm_up_waits.wait(5)
        time.sleep(0.1)  # the warm-up is now waiting before its import
        page_import.append(timed(lambda: __import__(page_module)))
        time.sleep(0.3)
        runs.ended()

    visitor = threading.Thread(target=page_run)
    visitor.start()
    warm_import = []

    def warm_up():
        with courtesy.between_imports([warm_module]):
            warm_up_waits.set()
            warm_import.append(timed(lambda: __import__(warm_module)))

    worker = threading.Thread(target=warm_up)
    worker.start()
    worker.join(5)
    visitor.join(5)
    assert warm_import[0] >= 0.1 + 0.3 + 0.3 - 0.05  # waited for the run's end and the moment after
    assert page_import[0] < 0.15
    run = run_in_thread(runs, 0.5)
    assert timed(lambda: __import__(later_module)) < 0.15  # outside the block: no pausing
    run.join()


def test_the_warm_up_never_pauses_inside_a_package_a_page_may_import(tmp_path, monkeypatch):
    """Pausing inside pandas' import (TensorFlow imports it) would hold pandas' import lock: the
    quality page importing pandas meanwhile would wait for the whole pause."""
    tag = uuid.uuid4().hex[:8]
    model, shared, signals = f"model_{tag}", f"shared_{tag}", f"signals_{tag}"
    events = types.SimpleNamespace(
        inside_shared=threading.Event(), page_started=threading.Event(), shared_done=threading.Event()
    )
    monkeypatch.setitem(sys.modules, signals, events)
    (tmp_path / model).mkdir()
    (tmp_path / model / "__init__.py").write_text(
        f"import {signals}\nimport {shared}\n{signals}.shared_done.set()\nimport {model}.after\n"
    )
    (tmp_path / model / "after.py").write_text("VALUE = 1\n")
    (tmp_path / shared).mkdir()
    (tmp_path / shared / "__init__.py").write_text(
        f"import {signals}\n{signals}.inside_shared.set()\n{signals}.page_started.wait(5)\nfrom {shared} import part\n"
    )
    (tmp_path / shared / "part.py").write_text("VALUE = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    runs = PageRuns()
    courtesy = Courtesy(runs, budget=5)

    def warm_up():
        with courtesy.between_imports([model]):
            __import__(model)

    worker = threading.Thread(target=warm_up)
    worker.start()
    try:
        assert events.inside_shared.wait(5)  # the warm-up holds the shared package's import lock
        runs.started()  # a page run begins, and imports the shared package
        events.page_started.set()
        assert timed(lambda: __import__(shared)) < 0.5  # 2 s (LONGEST_WAIT_S) if it paused inside it
        assert events.shared_done.wait(5)
        time.sleep(0.2)
        assert f"{model}.after" not in sys.modules  # inside its own package it still steps aside
        runs.ended()
        worker.join(5)
        assert f"{model}.after" in sys.modules
    finally:
        events.page_started.set()
        runs.ended()
        worker.join(5)
        for name in [n for n in sys.modules if n.startswith((model, shared))]:
            del sys.modules[name]


def test_the_warm_up_waits_for_a_run_and_an_upload_meanwhile_does_not(tmp_path, monkeypatch):
    runs = PageRuns()
    prepared = threading.Event()
    loader = ModelLoader(lambda: "model", courtesy=Courtesy(runs, budget=5))
    run = run_in_thread(runs, 0.6)
    loader.warm_up_in_background(lambda model: prepared.set())
    assert not prepared.wait(0.4)  # steps aside while the run goes on
    assert prepared.wait(2)  # and prepares the model once it is over
    run.join()

    monkeypatch.syspath_prepend(str(tmp_path))
    module = write_module(tmp_path, "model")
    waiting = ModelLoader(lambda: __import__(module).VALUE, courtesy=Courtesy(runs, budget=5), own_packages=(module,))
    run = run_in_thread(runs, 0.9)
    waiting.warm_up_in_background(lambda model: None)
    time.sleep(0.2)  # the warm-up waits before importing what the model needs
    assert not waiting.loaded
    assert timed(waiting.get) < 0.5  # an upload hurries it: it does not wait for the run to end
    assert waiting.get() == 1
    run.join()
