"""Background work stepping aside for page runs (shirtsim/step_aside.py) and the model's warm-up
that uses it (shirtsim/model/loader.py)."""

import threading
import time
import uuid

import pytest

from shirtsim import step_aside
from shirtsim.model.loader import ModelLoader
from shirtsim.step_aside import Courtesy, PageRuns


@pytest.fixture(autouse=True)
def short_times(monkeypatch):
    monkeypatch.setattr(step_aside, "AFTER_RUN_S", 0.1)
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
    assert 0.4 + 0.1 - 0.05 <= waited < 1.5
    assert runs.going_on() == 0
    assert timed(courtesy.pause) < 0.05  # quiet now: no wait


def test_without_a_run_a_pause_does_not_wait():
    assert timed(Courtesy(PageRuns(), budget=5).pause) < 0.05


def test_a_run_that_goes_on_too_long_ends_the_stepping_aside(monkeypatch):
    monkeypatch.setattr(step_aside, "LONGEST_WAIT_S", 0.3)
    runs = PageRuns()
    courtesy = Courtesy(runs, budget=5)
    runs.started()  # this thread's run never says it ended (or waits for the work itself)
    waited = timed(courtesy.pause)
    assert 0.25 <= waited < 1.0
    runs.ended()
    run = run_in_thread(runs, 0.3)
    assert timed(courtesy.pause) < 0.05  # given up for good
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
        assert timed(courtesy.pause) < 0.05  # the budget is spent
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
    warm_module, page_module = write_module(tmp_path, "warm"), write_module(tmp_path, "page")
    runs = PageRuns()
    courtesy = Courtesy(runs, budget=5)
    page_import = []

    def page_run():
        runs.started()
        time.sleep(0.2)  # the warm-up is now waiting before its import
        page_import.append(timed(lambda: __import__(page_module)))
        time.sleep(0.3)
        runs.ended()

    visitor = threading.Thread(target=page_run)
    visitor.start()
    time.sleep(0.05)
    warm_import = []

    def warm_up():
        with courtesy.between_imports():
            warm_import.append(timed(lambda: __import__(warm_module)))

    worker = threading.Thread(target=warm_up)
    worker.start()
    worker.join(5)
    visitor.join(5)
    assert warm_import[0] >= 0.4  # waited for the run (0.5 s from its start) and the moment after
    assert page_import[0] < 0.1
    assert timed(lambda: __import__(warm_module)) < 0.05  # outside the block: no pausing


def test_the_warm_up_waits_for_a_run_and_an_upload_meanwhile_does_not(tmp_path, monkeypatch):
    runs = PageRuns()
    prepared = threading.Event()
    loader = ModelLoader(lambda: "model", courtesy=Courtesy(runs, budget=5))
    run = run_in_thread(runs, 0.6)
    loader.warm_up_in_background(lambda model: prepared.set())
    assert not prepared.wait(0.3)  # steps aside while the run goes on
    assert prepared.wait(2)  # and prepares the model once it is over
    run.join()

    monkeypatch.syspath_prepend(str(tmp_path))
    module = write_module(tmp_path, "model")
    waiting = ModelLoader(lambda: __import__(module).VALUE, courtesy=Courtesy(runs, budget=5))
    run = run_in_thread(runs, 0.9)
    waiting.warm_up_in_background(lambda model: None)
    time.sleep(0.2)  # the warm-up waits before importing what the model needs
    assert not waiting.loaded
    assert timed(waiting.get) < 0.5  # an upload hurries it: it does not wait for the run to end
    assert waiting.get() == 1
    run.join()
