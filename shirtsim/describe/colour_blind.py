"""Colour-blind texture for "this pattern in that colour" (:mod:`shirtsim.describe.steer`).

The texture part is a Gram of VGG16 channels, and many of those channels respond to colour:
draw the same striped shirt in red instead of navy and its texture part moves. A navy striped
query asked for in red then ranks red plain shirts above red striped ones. This module finds the
directions the texture part moves along when only the colours change, so that a recoloured
query can leave them out.

Only the query is projected. An orthogonal projection of the query alone scores every stored
vector as projecting both would (up to each stored vector's own length), so the stored vectors,
the cache and Milvus stay as they are, and the score is still one dot product.

The directions belong to the weights and their texture basis:

- the packaged weights use :data:`SHIPPED_FILE`, fitted by ``python -m shirtsim
  fit-colour-directions --catalog ../shared/data/real-shirts-dev --weights packaged``. It uses
  every third real photo with its hues turned (:data:`HUE_TURNS`), plus :data:`DRAWINGS` shirts
  drawn by the demo generator, each drawn again in seven other colour pairs and also hue-turned.
  The drawings use seed :data:`DRAWING_SEED`; the bundled catalog, which the steering figure is
  measured on, is seed 7 and is never used. Each of the three sources counts equally.
- any other weights get directions fitted from the drawings alone the first time a colour is
  asked for (:data:`FIRST_USE_DRAWINGS` shirts, docs/performance.md) and keep them in the
  cache folder. With the packaged weights such a fit scores about as the shipped file on the
  steering measurement (docs/quality.md, This pattern in another colour).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from shirtsim.catalog.demo import ACCENTS, COLOURS, PATTERNS, STYLES, draw_shirt
from shirtsim.describe.descriptors import STYLE_KIND, TEXTURE_DIM
from shirtsim.describe.embed import embed
from shirtsim.describe.npz_files import CheckedNpz
from shirtsim.describe.projection import descriptor_id
from shirtsim.errors import ShirtsimError
from shirtsim.model.inputs import to_model_input
from shirtsim.model.vgg16 import Embedder
from shirtsim.model.weights import Weights
from shirtsim.store import CorruptFile, read_blob, write_blob

SHIPPED_FILE = Path(__file__).with_name("colour_directions.npz")
DIRECTIONS = 12  # chosen with python benchmarks/steering.py (docs/quality.md): 8 and 16 did worse
# (hue turn in degrees, brightness factor): what a colour change does to a photo, white staying white.
HUE_TURNS = ((0, 1.0), (60, 1.0), (120, 0.8), (180, 1.0), (240, 0.6), (300, 1.1), (30, 0.4), (200, 1.2))
COLOURINGS = 8  # colour pairs each drawn shirt is drawn in
DRAWINGS = 120
FIRST_USE_DRAWINGS = 24
DRAWING_SEED = 11  # not the bundled catalog's seed (7)
FIT_VERSION = "cd1"  # part of every key: change it whenever how directions are fitted changes
MAX_FILE_BYTES = 1024**2  # a directions file is 26 KB; nothing larger is read
_fitted: dict[str, np.ndarray] = {}
_lock = threading.Lock()


class ColourDirectionsError(ShirtsimError):
    """A colour-directions file that cannot be used (damaged, hostile, or not one)."""


def directions_for(weights: Weights, embedder: Callable[[], Embedder], cache_dir: Path | None = None) -> np.ndarray:
    """The colour directions for ``weights``: shipped, or fitted from drawings once (``embedder``
    is only called then) and kept in ``cache_dir``, so a command line run per query does not
    fit them again. A damaged cached file is fitted again; a damaged shipped one is
    :class:`ColourDirectionsError`."""
    key = key_of(weights)
    with _lock:
        if key not in _fitted:
            shipped = _shipped()
            if shipped is not None and shipped[1] == key:
                _fitted[key] = shipped[0]
            else:
                _fitted[key] = _cached_or_fitted(weights, embedder, cache_dir)
        return _fitted[key]


def _cached_or_fitted(weights: Weights, embedder: Callable[[], Embedder], cache_dir: Path | None) -> np.ndarray:
    key = key_of(weights)
    path = (
        cache_dir / "colour-directions" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz" if cache_dir else None
    )
    if path is not None and path.exists():
        try:
            if path.stat().st_size <= MAX_FILE_BYTES + 1024:  # (the blob header) else not even read
                directions, stored_key = load_directions(io.BytesIO(read_blob(path)), path.name)
                if stored_key == key:
                    return directions
        except (CorruptFile, ColourDirectionsError, OSError):
            pass  # the cache is ours to redo: fitted again below, and the file rewritten
    directions = fit_colour_directions(embedder(), [drawn_variants(FIRST_USE_DRAWINGS)])
    if path is not None:
        with contextlib.suppress(OSError):  # a read-only cache only costs the next process the fit
            write_blob(path, _npz_bytes(directions, weights))
    return directions


def key_of(weights: Weights) -> str:
    """What a set of directions belongs to: the raw descriptor (weights, recipe, texture basis)
    and the way they were fitted."""
    return f"{descriptor_id(weights)}/{FIT_VERSION}"


def source(weights: Weights) -> str:
    """Where ``weights``' colour directions come from, in a few words (for reports)."""
    shipped = _shipped()
    if shipped is not None and shipped[1] == key_of(weights):
        return "colour directions shipped for these weights"
    return f"colour directions fitted from {FIRST_USE_DRAWINGS} drawn shirts on first use"


def _shipped() -> tuple[np.ndarray, str] | None:
    """The shipped directions, or None when there is no such file: then these weights fit theirs
    as any others do. A damaged one (refits are written whole, so not an interrupted refit) is a
    broken installation, said in one line rather than hidden behind a fit in every process."""
    try:
        return load_directions(SHIPPED_FILE)
    except FileNotFoundError:
        return None
    except ColourDirectionsError as e:
        raise ColourDirectionsError(
            f"{e} It ships with shirtsim: reinstall shirtsim, or refit it with "
            "`python -m shirtsim fit-colour-directions --weights packaged`."
        ) from None


def load_directions(path: Path | BinaryIO, name: str | None = None) -> tuple[np.ndarray, str]:
    """A stored set of directions and the key (:func:`key_of`) it was fitted for, checked by its
    headers before anything is read (:class:`shirtsim.describe.projection.CheckedNpz`); ``name`` names it
    in :class:`ColourDirectionsError`. FileNotFoundError when there is no such file."""
    name = (name or (path.name if isinstance(path, Path) else "colour directions"))[:80]
    with CheckedNpz(path, name, "colour-directions file", ColourDirectionsError, MAX_FILE_BYTES) as npz:
        npz.require("directions", "f", (DIRECTIONS, TEXTURE_DIM))
        npz.require("key", "U", ())
        directions, key = np.asarray(npz.load("directions"), np.float64), str(npz.load("key"))
        if not np.isfinite(directions).all():
            raise npz.damaged("directions that are not finite")
        # steer.remove_colour takes them as orthonormal rows (float32 storage: within 1e-5 of it)
        if not np.allclose(directions @ directions.T, np.eye(DIRECTIONS), atol=1e-3):
            raise npz.damaged("directions that are not orthonormal")
    return directions, key


def save_directions(path: Path, directions: np.ndarray, weights: Weights) -> None:
    """Write ``path`` whole or not at all (an interrupted refit leaves the old file)."""
    part = path.with_name(f".{path.name}.part")
    part.write_bytes(_npz_bytes(directions, weights))
    os.replace(part, path)


def _npz_bytes(directions: np.ndarray, weights: Weights) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, directions=directions.astype(np.float32), key=np.array(key_of(weights)))
    return buffer.getvalue()


def hue_turned(img: Image.Image, degrees: int, brightness: float) -> Image.Image:
    """``img`` with every hue turned by ``degrees`` and brightness scaled; greys (a white
    background, black text) keep their hue-less colour."""
    hsv = np.asarray(img.convert("RGB").convert("HSV"), np.int32).copy()
    hsv[..., 0] = (hsv[..., 0] + degrees * 256 // 360) % 256
    hsv[..., 2] = np.clip(hsv[..., 2] * brightness, 0, 255)
    return Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")


def hue_variants(photos: Iterable[Image.Image]) -> Iterator[np.ndarray]:
    """For each photo, its :data:`HUE_TURNS` as one batch of model inputs."""
    for img in photos:
        yield np.stack([to_model_input(hue_turned(img, d, b)) for d, b in HUE_TURNS])


def drawn_variants(count: int, seed: int = DRAWING_SEED, hue: bool = False) -> Iterator[np.ndarray]:
    """``count`` demo-style shirts, each drawn in :data:`COLOURINGS` colour pairs with the same
    cut, pattern and folds (one batch per shirt); ``hue``: each shirt's first colouring
    hue-turned instead."""
    rng = random.Random(seed)
    for n in range(count):
        pattern, style = PATTERNS[n % len(PATTERNS)], STYLES[(n // len(PATTERNS)) % len(STYLES)]
        geometry = rng.random()
        pictures = []
        for colour in rng.sample(list(COLOURS), COLOURINGS):
            accent = rng.choice([a for a in ACCENTS if a != colour])
            pictures.append(draw_shirt(style, pattern, colour, accent, random.Random(geometry)))
        if hue:
            yield from hue_variants(pictures[:1])
        else:
            yield np.stack([to_model_input(p) for p in pictures])


def fit_colour_directions(embedder: Embedder, sources: list[Iterable[np.ndarray]]) -> np.ndarray:
    """The :data:`DIRECTIONS` leading directions of how a texture part moves within a batch
    (one photo in other colours). Each source counts equally; each photo's texture parts are
    taken at unit length first, so large and small Grams count alike."""
    scatter = np.zeros((TEXTURE_DIM, TEXTURE_DIM))
    for source in sources:
        part = np.zeros_like(scatter)
        for batch in source:
            texture = embed(embedder, STYLE_KIND, batch)[:, :TEXTURE_DIM].astype(np.float64)
            texture /= np.maximum(np.linalg.norm(texture, axis=1, keepdims=True), 1e-12)
            moved = texture - texture.mean(axis=0)
            part += moved.T @ moved
        if np.trace(part) > 0:
            scatter += part / np.trace(part)
    _, vectors = np.linalg.eigh(scatter)
    directions = vectors[:, ::-1][:, :DIRECTIONS].T
    # An eigenvector's sign is arbitrary; fix it so refits on the same data give the same file.
    directions *= np.sign(directions[np.arange(len(directions)), np.abs(directions).argmax(axis=1)])[:, None]
    return directions
