"""VGG16 in int8 through LiteRT (``ai-edge-litert``, XNNPACK), for CPUs without native bfloat16.

On such CPUs float32 is the network's limit. An int8 copy runs its convolutions as 8-bit dot
products (VNNI on AVX-512 CPUs), several times faster, at a small cost in precision: the measured
rates and quality are in docs/performance.md (int8).

The copy is made from the loaded weights by TensorFlow's converter (full-integer quantisation,
float32 in and out), calibrated on 64 photos of the bundled demo catalog, once per weights. It
is kept in the cache (``v1/models/``, the store's checksummed blob format; a LiteRT
model is a flatbuffer of tensors and built-in operators, nothing that executes code on load)
and read back on later starts. Only the default descriptors run in int8; the seed's kind stays
float32 (it must reproduce the notebook exactly).
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from shirtsim.errors import WeightsError
from shirtsim.model.noise import native_noise_filtered
from shirtsim.store import VERSION, CorruptFile, cache_write, read_blob, write_blob

if TYPE_CHECKING:
    from shirtsim.model.vgg16 import Embedder

CALIBRATION_PHOTOS = 64
# Names the conversion (its settings and calibration, with TensorFlow pinned in requirements.txt):
# part of the cached model's name and of the int8 vectors' fingerprint, so vectors made by one
# conversion never meet queries made by another. Change it when the conversion or TensorFlow changes.
CONVERTER = "c1"
T = TypeVar("T")


class Int8Network:
    """One truncated VGG16 (one output layer) in int8, run a picture at a time."""

    def __init__(self, model: bytes, layer: str) -> None:
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415

        self.layer = layer
        with native_noise_filtered():  # "Created TensorFlow Lite XNNPACK delegate for CPU."
            self.interpreter = Interpreter(model_content=model, num_threads=os.cpu_count() or 1)
            self.interpreter.allocate_tensors()
        self._input = self.interpreter.get_input_details()[0]["index"]
        self._output = self.interpreter.get_output_details()[0]["index"]

    @classmethod
    def for_layers(cls, embedder: Embedder, layers: tuple[str, ...]) -> Int8Network:
        """The int8 network of ``embedder``'s weights up to ``layers`` (one layer), from the cache
        or converted now."""
        if len(layers) != 1:
            raise ValueError(f"the int8 network has one output layer, not {layers}")
        path = _cached_path(embedder, layers[0])
        model = None
        if path is not None and path.is_file():
            try:
                model = read_blob(path)
            except (CorruptFile, OSError):
                model = None  # damaged: convert again
        if model is None:
            model = _cannot_run_int8_unless(lambda: convert(embedder, layers[0]))
            if path is not None:
                with cache_write(path):  # unwritable: converted again on the next start
                    write_blob(path, model)
        return _cannot_run_int8_unless(lambda: cls(model, layers[0]))

    def forward(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """``{layer: maps}`` for a preprocessed float32 batch (B, 224, 224, 3)."""
        out = None
        for n, picture in enumerate(x):  # one at a time: as fast as batches here, no re-allocation per size
            self.interpreter.set_tensor(self._input, picture[None])
            self.interpreter.invoke()
            maps = self.interpreter.get_tensor(self._output)[0]  # a view of the interpreter's buffer
            if out is None:
                out = np.empty((len(x),) + maps.shape, np.float32)
            out[n] = maps  # the one copy
        return {self.layer: out}


def _cannot_run_int8_unless(step: Callable[[], T]) -> T:
    """``step()``, or a :class:`WeightsError` that says what failed and how to do without int8."""
    try:
        return step()
    except Exception as e:  # noqa: BLE001 (LiteRT and the converter raise many kinds; each means "cannot")
        why = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise WeightsError(
            f"Cannot run VGG16 in int8 (LiteRT): {why}. Set SHIRTSIM_ARITHMETIC=float32 to run without it."
        ) from None


def convert(embedder: Embedder, layer: str) -> bytes:
    """The int8 LiteRT model of ``embedder``'s VGG16 up to ``layer``."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415
    from keras.applications.vgg16 import preprocess_input  # noqa: PLC0415

    model = keras.Model(embedder.vgg.input, embedder.vgg.get_layer(layer).output)
    pictures = preprocess_input(calibration_pictures().astype(np.float32))

    def representative() -> Iterator[list[np.ndarray]]:
        for picture in pictures:
            yield [picture[None]]

    # The converter prints the traced model (Python print) and logs from C++: neither may reach
    # the CLI's stdout (--json) or stderr (one line per problem).
    with native_noise_filtered(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Statistics for quantized inputs were expected": float32 in, by design
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.float32
        converter.inference_output_type = tf.float32
        return converter.convert()


def calibration_pictures() -> np.ndarray:
    """64 model inputs (uint8) from the bundled demo catalog, every third photo by name."""
    from PIL import Image  # noqa: PLC0415

    from shirtsim.catalog.assets import DEMO_CATALOG  # noqa: PLC0415
    from shirtsim.model.inputs import to_model_input  # noqa: PLC0415

    photos = sorted(DEMO_CATALOG.glob("*.jpg"))[::3][:CALIBRATION_PHOTOS]
    if not photos:
        raise FileNotFoundError(f"the demo catalog ({DEMO_CATALOG}) calibrates the int8 network; it is missing")
    return np.stack([to_model_input(Image.open(p)) for p in photos])


def _cached_path(embedder: Embedder, layer: str) -> Path | None:
    if embedder.cache_dir is None:
        return None
    name = f"vgg16-{embedder.weights.fingerprint}-{layer}-int8{CONVERTER}.tflite"
    return Path(embedder.cache_dir) / f"v{VERSION}" / "models" / name
