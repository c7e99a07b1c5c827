"""The one place shirtsim reaches into Streamlit's private API, with a check that it is still there.

After every run Streamlit "cleans up problem modules": with Keras loaded it calls
``keras.backend.clear_session()``, for apps that build a model per run. That is a full garbage
collection and TensorFlow's kernel cache dropped on every click (~0.5 s, and a slower next
upload: benchmarks/latency.py). shirtsim loads one model per server and keeps it, so the hook is
replaced by one that only tells the background work stepping aside for page runs that this run
ended (:mod:`shirtsim.step_aside`). If a Streamlit upgrade moves it, the page fails at once with
a message that says so, rather than quietly getting slower.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import script_runner

from shirtsim.step_aside import PAGE_RUNS

CHECKED_WITH = "1.67"  # the Streamlit release (major.minor) the hook was checked against (requirements.txt)
HOOK = "_clean_problem_modules"


class StreamlitMovedError(RuntimeError):
    """Streamlit no longer has the private hook shirtsim replaces."""


def keep_the_model_loaded() -> None:
    """Stands in for Streamlit's after-run clean-up of "problem modules" (see the module docstring).
    Streamlit calls it after every run, a fragment's too, on the thread the run went on (the
    session's script thread: shirtsim's fragments are not ``run_every`` ones, which run apart)."""
    PAGE_RUNS.ended()


def install() -> None:
    """Replace the hook (once per process; idempotent), or fail with what to do."""
    if getattr(script_runner, HOOK, None) is keep_the_model_loaded:
        return
    if not callable(getattr(script_runner, HOOK, None)):
        raise StreamlitMovedError(
            f"Streamlit {st.__version__} has no streamlit.runtime.scriptrunner.script_runner.{HOOK} (shirtsim was "
            f"checked with {CHECKED_WITH}): see shirtsim/web/hooks.py, or install the Streamlit in requirements.txt."
        )
    setattr(script_runner, HOOK, keep_the_model_loaded)
