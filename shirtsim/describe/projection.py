"""The learned projection: what a catalog's labels say about the ``style`` descriptor.

A projection keeps the raw parts (texture, periodicity, lab, hsv) untouched and appends two
small named parts:

- ``texture_learned``: one head per label column learned from the texture side alone (the Gram
  and the periodicity parts; the packaged one: ``articleType`` and ``pattern``);
- ``colour_learned``: one head per column learned from the two colour parts alone (``baseColour``).

A head is an L2-regularised multinomial logistic regression (numpy, full-batch Adam from zeros
with a step falling to zero, so it reaches the one optimum whatever the CPU's rounding) whose
output is the square root of its class probabilities at temperature 0.5, centred and scaled
so that each head of a part weighs alike (``pattern`` twice: it is the column hand-tuning could
not lift). Texture stays texture and colour stays colour, so the modes, the per-part
explanation and "this pattern in that colour" can still take the parts apart. Every setting
here was chosen by cross-fitting the two halves of real-shirts-dev, fitted on one half and scored
on the other, both ways (``benchmarks/crossfit.py``, docs/quality.md).

The cache keeps raw vectors: a projection is applied when an index is built and to each query,
so changing it never re-embeds a photo. A projection file is plain arrays (``np.savez``, loaded
with ``allow_pickle=False``: nothing in it can run) and names the descriptor it was fitted on
(weights, recipe, texture basis): another model's vectors are refused, not silently mis-projected.

Which projection is used (``SHIRTSIM_PROJECTION``, CLI ``--projection``): ``auto`` (default) is
the packaged one, fitted on all of real-shirts-dev, when the weights are the packaged ones, else
none, as the sidebar and the CLI say (not one fitted on the 200 drawn demo shirts at load: it
would teach real photos the drawings' labels); ``none``; or a file written by
``python -m shirtsim fit-projection``.
"""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shirtsim.describe.descriptors import COLOUR_START, PERIODICITY_DIM, STYLE_KIND, STYLE_VERSION, TEXTURE_DIM, Layout
from shirtsim.describe.npz_files import CheckedNpz
from shirtsim.errors import ShirtsimError
from shirtsim.model.weights import Weights

PACKAGED_FILE = Path(__file__).with_name("projection_packaged.npz")
PACKAGED_SOURCE = "real-shirts-dev (1,691 labelled product photos)"
SIDES = {"texture": slice(0, COLOUR_START), "colour": slice(COLOUR_START, STYLE_KIND.dim)}
# The periodicity part's pull on a texture head relative to the Gram's: each block of a side is
# scaled to its own RMS, then the periodicity block to this share of the Gram block's length
# (chosen by cross-fitting: 0.5 and 0.75 within 0.001 of each other). The colour side is one block.
PERIODICITY_GAIN = 0.5
SIDE_BLOCKS = {
    "texture": ((TEXTURE_DIM, 1.0), (PERIODICITY_DIM, PERIODICITY_GAIN * (TEXTURE_DIM / PERIODICITY_DIM) ** 0.5)),
    "colour": ((STYLE_KIND.dim - COLOUR_START, 1.0),),
}
LEARNED_LENGTH = 1.0  # stored length of each learned part: the best IVF recall in every mode (docs/quality.md)
L2 = 0.03  # mean cross-entropy + L2 * |W|^2
FORMAT = "shirtsim-projection-2"  # 2: the periodicity part, and a scale per input value
MAX_FILE_BYTES = 64 * 1024**2


class ProjectionError(ShirtsimError):
    """A projection file that cannot be used (missing, damaged, or fitted for other vectors)."""


@dataclass(frozen=True)
class Head:
    """One label column learned from one side (``texture`` or ``colour``) of the raw vector."""

    column: str
    side: str
    classes: tuple[str, ...]
    in_mean: np.ndarray  # (D,) the side's mean on the fitting photos
    in_scale: np.ndarray  # (D,) each block's RMS on them, over its gain (SIDE_BLOCKS)
    weights: np.ndarray  # (D, C), already divided by the temperature
    bias: np.ndarray  # (C,)
    out_mean: np.ndarray  # (C,) what the output is centred on
    out_scale: float  # and scaled by: unit mean length on the fitting photos (/ HEAD_SCALE)

    def output(self, raw: np.ndarray) -> np.ndarray:
        """(N, C): square-rooted class probabilities, centred and scaled."""
        z = (raw[:, SIDES[self.side]] - self.in_mean) / self.in_scale @ self.weights + self.bias
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return ((np.sqrt(p) - self.out_mean) / self.out_scale).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Projection:
    heads: tuple[Head, ...]
    descriptor: str  # the raw vectors it applies to: :func:`descriptor_id`
    source: str  # what it was fitted on, for people
    # The photos it was fitted on, as the first 8 bytes of their content hashes (sorted uint64):
    # a quality figure on a catalog that shares them is in-sample, and the app says so.
    fitted: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))

    def fitted_on(self, content_hashes: list[str]) -> int:
        """How many of these photos (content hashes) the projection was fitted on."""
        if not len(self.fitted) or not content_hashes:
            return 0
        return int(np.isin(hash_keys(content_hashes), self.fitted).sum())

    @functools.cached_property
    def layout(self) -> Layout:
        widths = {side: sum(len(h.classes) for h in self.heads if h.side == side) for side in SIDES}
        end_t = STYLE_KIND.dim + widths["texture"]
        names, parts, lengths = list(STYLE_KIND.part_names), list(STYLE_KIND.parts), list(STYLE_KIND.part_lengths)
        for name, part in (
            ("texture_learned", slice(STYLE_KIND.dim, end_t)),
            ("colour_learned", slice(end_t, end_t + widths["colour"])),
        ):
            if part.stop > part.start:
                names.append(name)
                parts.append(part)
                lengths.append(LEARNED_LENGTH)
        return Layout(tuple(names), tuple(parts), tuple(lengths), end_t + widths["colour"])

    @functools.cached_property
    def id(self) -> str:
        """Names this projection in cache packs and Milvus collections (a digest of its numbers)."""
        return "p" + hashlib.sha256(self.to_bytes(with_fitted=False)).hexdigest()[:10]

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Raw ``style`` descriptors (N, 996) -> (N, layout.dim): raw parts, then the learned ones."""
        raw = np.asarray(raw, np.float32).reshape(-1, STYLE_KIND.dim)
        blocks = [raw] + [h.output(raw) for side in SIDES for h in self.heads if h.side == side]
        return np.hstack(blocks)

    def describe(self) -> str:
        """One line for people: where it comes from and what it learned."""
        columns = ", ".join(f"{h.column} ({h.side}, {len(h.classes)} labels)" for h in self.heads)
        return f"{self.source}; learned {columns}"

    def to_bytes(self, with_fitted: bool = True) -> bytes:
        """The .npz file; ``with_fitted=False`` leaves out which photos it saw (not in :attr:`id`:
        they do not change a vector)."""
        arrays: dict[str, np.ndarray] = {
            "format": np.array(FORMAT),
            "descriptor": np.array(self.descriptor),
            "source": np.array(self.source),
            "heads": np.array([f"{h.side}:{h.column}" for h in self.heads] or [""])[: len(self.heads)],
        }
        for n, h in enumerate(self.heads):
            arrays |= {
                f"{n}.classes": np.array(h.classes),
                f"{n}.in_mean": h.in_mean,
                f"{n}.in_scale": np.asarray(h.in_scale, np.float32),
                f"{n}.weights": h.weights,
                f"{n}.bias": h.bias,
                f"{n}.out_mean": h.out_mean,
                f"{n}.out_scale": np.float32(h.out_scale),
            }
        if with_fitted and len(self.fitted):
            arrays["fitted"] = np.asarray(self.fitted, np.uint64)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    def save(self, path: Path) -> None:
        """Write atomically (a reader never sees half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(self.to_bytes())
        partial.replace(path)


# ---------------------------------------------------------------------------------------------
# .npz files judged by their headers before anything is read (colour_blind uses this too)
# ---------------------------------------------------------------------------------------------


def load_projection(path: Path) -> Projection:
    """A projection file, checked: :class:`ProjectionError` says what is wrong with it. Every
    member's header is checked against the format (dtypes, shapes, sizes: :class:`CheckedNpz`)
    before its numbers are read, so no file can make this allocate more than ``MAX_FILE_BYTES``."""
    path = Path(path)
    name = path.name[:80]
    try:
        with CheckedNpz(path, name, "projection file", ProjectionError, MAX_FILE_BYTES) as npz:
            arrays = _checked_arrays(npz)
    except FileNotFoundError:
        raise ProjectionError(f"{name}: no such projection file.") from None
    try:
        return _from_arrays(arrays)
    except (KeyError, ValueError, TypeError, IndexError) as e:
        raise ProjectionError(f"{name}: a damaged projection file ({str(e)[:80] or type(e).__name__}).") from None


def _checked_arrays(npz: CheckedNpz) -> dict[str, np.ndarray]:
    """Every member a projection needs, its header checked against the format first."""
    if "format" not in npz.members:
        raise npz.unusable("no member format")
    npz.require("format", "U", ())
    written_as = str(npz.load("format"))[:40]
    if written_as.startswith("shirtsim-projection-") and written_as != FORMAT:
        raise ProjectionError(
            f"{npz.name}: written by another version of shirtsim ({written_as}): "
            "refit it with `shirtsim fit-projection`."
        )
    if written_as != FORMAT:
        raise npz.damaged(f"format {written_as!r}, expected {FORMAT}")
    names = ["format", "descriptor", "source", "heads"]
    for member in names[1:3]:
        npz.require(member, "U", ())
    npz.require("heads", "U", ("heads",))
    for n, spec in enumerate(npz.load("heads").tolist()):
        side = str(spec).partition(":")[0]
        if side not in SIDES:
            raise npz.damaged(f"head {n} learns from {side[:20]!r}")
        width, classes = SIDES[side].stop - SIDES[side].start, f"classes of head {n}"
        shapes = {
            "classes": (classes,),
            "in_mean": (width,),
            "in_scale": (width,),
            "weights": (width, classes),
            "bias": (classes,),
            "out_mean": (classes,),
            "out_scale": (),
        }
        for key, shape in shapes.items():
            npz.require(f"{n}.{key}", "U" if key == "classes" else "f", shape)
            names.append(f"{n}.{key}")
    width = STYLE_KIND.dim + sum(v for k, v in npz.bound.items() if k.startswith("classes of head"))
    if width * 4 > 4096:  # the projected vector's size, known before a number is read
        raise npz.damaged(f"{width} values per item: over 4,096 bytes")
    if npz.require("fitted", "u", (None,), optional=True):
        names.append("fitted")
    return {member: npz.load(member) for member in names}


def _from_arrays(a: dict[str, np.ndarray]) -> Projection:
    """A projection from arrays whose shapes :func:`_checked_arrays` has checked: the numbers now."""
    heads = []
    for n, spec in enumerate(a["heads"].tolist()):
        side, _, column = str(spec).partition(":")
        classes = tuple(str(c) for c in a[f"{n}.classes"].tolist())
        keys = ("in_mean", "weights", "bias", "out_mean", "in_scale", "out_scale")
        arrays = {k: np.asarray(a[f"{n}.{k}"], np.float32) for k in keys}
        for k in keys:
            if not np.isfinite(arrays[k]).all():
                raise ValueError(f"head {n} {k} is not finite")
        if len(classes) < 2 or (arrays["in_scale"] <= 0).any() or arrays["out_scale"] <= 0:
            raise ValueError(f"head {n} is degenerate")
        heads.append(
            Head(
                column,
                side,
                classes,
                arrays["in_mean"],
                arrays["in_scale"],
                arrays["weights"],
                arrays["bias"],
                arrays["out_mean"],
                float(arrays["out_scale"]),
            )
        )
    fitted = np.asarray(a.get("fitted", np.zeros(0, np.uint64)))
    if fitted.ndim != 1 or fitted.dtype != np.uint64:
        raise ValueError(f"fitted photos of shape {fitted.shape} and type {fitted.dtype}")
    projection = Projection(tuple(heads), str(a["descriptor"]), str(a["source"]), np.sort(fitted))
    if projection.layout.dim * 4 > 4096:
        raise ValueError(f"{projection.layout.dim} values per item: over 4,096 bytes")
    return projection


def descriptor_id(weights: Weights) -> str:
    """The raw ``style`` vectors ``weights`` give: weights, recipe and texture basis (not the
    arithmetic: bfloat16 and float32 vectors differ by far less than a projection can tell)."""
    from shirtsim.describe.texture import basis_id  # noqa: PLC0415 (texture imports the model stack)

    return f"vgg16-{weights.fingerprint}-{STYLE_VERSION}-{basis_id(weights)}"


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Choosing one
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionChoice:
    projection: Projection | None
    label: str  # for the sidebar and the CLI
    note: str = ""  # why there is none, when the user did not ask for none


def resolve_projection(spec: str, weights: Weights) -> ProjectionChoice:
    """``auto``, ``none`` or a projection file, for vectors made with ``weights``."""
    spec = spec.strip() or "auto"
    if spec == "none":
        return ProjectionChoice(None, "none (unprojected descriptor)")
    if spec == "auto":
        packaged = _packaged()
        if packaged.descriptor == descriptor_id(weights):
            return ProjectionChoice(packaged, f"packaged: fitted on {PACKAGED_SOURCE}")
        return ProjectionChoice(
            None,
            "none (unprojected descriptor)",
            f"No learned projection for {weights.label} (the packaged one is for the packaged weights): "
            "similarity uses the unprojected descriptor. `shirtsim fit-projection` fits one on a labelled catalog.",
        )
    projection = load_projection(Path(spec).expanduser())
    wanted = descriptor_id(weights)
    if projection.descriptor != wanted:
        raise ProjectionError(
            f"{Path(spec).name[:80]} was fitted on {projection.descriptor[:80]} vectors, but these weights give "
            f"{wanted}: refit it with `shirtsim fit-projection`, or use SHIRTSIM_PROJECTION=none."
        )
    return ProjectionChoice(projection, f"file {Path(spec).name}: {projection.source}")


@functools.lru_cache(maxsize=1)
def _packaged() -> Projection:
    return load_projection(PACKAGED_FILE)


def hash_keys(content_hashes: list[str]) -> np.ndarray:
    """The first 8 bytes of each hex content hash, as uint64 (what a projection keeps of them)."""
    return np.array([int(h[:16], 16) for h in content_hashes], np.uint64)
