"""The one model of an engine: loaded on first need, once, or ahead of need in the background.

The page asks for the warm-up from its first run on, so the first upload does not wait for
TensorFlow. The warm-up steps aside for the visitors' page runs (:mod:`shirtsim.step_aside`),
and stops stepping aside as soon as someone needs the model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from shirtsim.jobs import lower_priority
from shirtsim.step_aside import Courtesy

log = logging.getLogger(__name__)
Model = TypeVar("Model")
# The packages only the model imports: its warm-up pauses inside their imports, and not inside
# others' (pandas, scipy, which pages import too and would wait for: shirtsim.step_aside).
MODEL_PACKAGES = ("tensorflow", "keras", "tf_keras")


class ModelLoader(Generic[Model]):
    """``load()`` called once, however many threads ask at the same time."""

    def __init__(
        self,
        load: Callable[[], Model],
        courtesy: Courtesy | None = None,
        own_packages: tuple[str, ...] = MODEL_PACKAGES,
    ) -> None:
        self._load = load
        self._own_packages = own_packages
        self._model: Model | None = None
        self._lock = threading.Lock()  # held while the model loads: only those who need it wait
        self._warm_up: threading.Thread | None = None
        self._warm_up_lock = threading.Lock()  # not the model lock: every page run asks, none may wait
        self._courtesy = courtesy or Courtesy()  # the warm-up's, for the page runs of this process

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def get(self) -> Model:
        """The model, loaded now if it must be. Someone needs it: a warm-up under way (loading it,
        or running it once) stops stepping aside."""
        if threading.current_thread() is not self._warm_up:
            self._courtesy.hurry()
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def warm_up_in_background(self, prepare: Callable[[Model], object]) -> None:
        """Load the model and run ``prepare`` on it in a thread, once (returns at once)."""
        with self._warm_up_lock:
            if self._warm_up is not None or self._model is not None:
                return
            self._warm_up = threading.Thread(target=self._warm, args=(prepare,), name="shirtsim-warm-up", daemon=True)
        self._warm_up.start()

    def join_warm_up(self, timeout: float) -> None:
        if self._warm_up is not None:
            self._warm_up.join(timeout)

    def _warm(self, prepare: Callable[[Model], object]) -> None:
        lower_priority()  # the page is drawn and clicked meanwhile: on two cores, its work comes first
        try:
            with self._courtesy.between_imports(self._own_packages):
                model = self.get()
                self._courtesy.pause()
                prepare(model)
        except Exception as e:  # noqa: BLE001 (an upload will meet the same problem and report it)
            log.warning("model warm-up failed: %s", e)
