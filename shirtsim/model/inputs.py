"""The model's input: a picture resized to 224x224 as the seed notebook did, and batches of them
decoded in threads while the model runs on the previous one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

INPUT_SIZE = (224, 224)
BATCH_SIZE = 16


def to_model_input(img: Image.Image) -> np.ndarray:
    """224x224x3 uint8, resized like ``keras.utils.load_img(path, target_size=(224, 224))``."""
    return np.asarray(img.convert("RGB").resize(INPUT_SIZE, Image.NEAREST), dtype=np.uint8)


def batches(
    items: list, load: Callable[[object], np.ndarray | None], size: int = BATCH_SIZE, workers: int = 2
) -> Iterator[tuple[list, np.ndarray | None, list]]:
    """Yield ``(items, stacked inputs, failures)`` per batch, decoding the next batch in threads
    while the caller runs the model on this one.

    ``load(item)`` returns a 224x224x3 array or raises; failures are ``(item, exception)`` pairs.
    """
    chunks = [items[i : i + size] for i in range(0, len(items), size)]

    def decode(chunk: list) -> tuple[list, np.ndarray | None, list]:
        ok, arrays, failed = [], [], []
        for item in chunk:
            try:
                arrays.append(load(item))
                ok.append(item)
            except Exception as e:  # noqa: BLE001 (each failure is reported per file by the caller)
                failed.append((item, e))
        return ok, (np.stack(arrays) if arrays else None), failed

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = [pool.submit(decode, c) for c in chunks[:2]]
        for n in range(len(chunks)):
            result = pending[n].result()
            if n + 2 < len(chunks):
                pending.append(pool.submit(decode, chunks[n + 2]))
            yield result
