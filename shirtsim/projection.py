"""The learned projection: what a catalog's labels say about the ``style`` descriptor.

A projection keeps the raw parts (texture, periodicity, lab, hsv) untouched and appends two
small named parts:

- ``texture_learned``: one head per label column learned from the texture side alone (the Gram
  and the periodicity parts; the packaged one: ``articleType`` and ``pattern``);
- ``colour_learned``: one head per column learned from the two colour parts alone (``baseColour``).

A head is an L2-regularised multinomial logistic regression (numpy, full-batch Adam from zeros:
deterministic) whose output is the square root of its class probabilities at temperature 0.5,
centred and scaled so that each head of a part weighs alike (``pattern`` twice: it is the
column hand-tuning could not lift). Texture stays texture and colour stays colour, so the
modes, the per-part explanation and "this pattern in that colour" can still take the parts
apart. Every setting here was chosen by cross-fitting the two halves of real-shirts-dev, fitted
on one half and scored on the other, both ways (``benchmarks/crossfit.py``, README "Quality").

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
import math
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .descriptors import COLOUR_START, PERIODICITY_DIM, STYLE_KIND, STYLE_VERSION, TEXTURE_DIM, Layout
from .errors import ShirtsimError
from .weights import Weights

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
LEARNED_LENGTH = 1.0  # stored length of each learned part: the best IVF recall in every mode (README)
MIN_PER_CLASS = 8  # a label with fewer photos is left out of the fit (too few to learn from)
L2 = 0.03  # mean cross-entropy + L2 * |W|^2
TEMPERATURE = 0.5
STEPS = 400
LEARNING_RATE = 0.05
HEAD_SCALE = {"pattern": 2.0}  # a head named so weighs this much more inside its part
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

NPZ_DIRECTORY_BYTES = 256 * 1024  # an archive's table of contents (~100 bytes a member)
NPY_HEADER_BYTES = 4096  # numpy writes 128 bytes; its own reader allows 10,000
TEXT_CHARS = 1024  # longest text value (a name, a label) a file of ours may hold
_END_RECORD = struct.Struct("<4s4H2LH")  # a zip's end of central directory record, without comment
_KINDS = {"f": "floats", "u": "unsigned integers", "U": "text"}
# What zipfile, zlib and numpy raise for an archive or a member that is not what it claims.
_UNREADABLE = (
    OSError,
    ValueError,
    TypeError,
    OverflowError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    struct.error,
)


def size_text(n: int) -> str:
    """Bytes for people: ``64 MB``, ``3.9 TB``."""
    for unit, shift in (("TB", 40), ("GB", 30), ("MB", 20), ("KB", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            return f"{value:,.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{n:,} bytes"


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int  # the values' size, from shape and dtype


class CheckedNpz:
    """An .npz archive of plain arrays whose members are judged by their .npy headers before any
    value is read, so a hostile or broken file costs a few kilobytes to refuse.

    Opening checks the archive (written by numpy: no comment, no zip64, a small table of contents;
    stored or deflated members only: bzip2 and LZMA inflate without bound) and each member's header:
    plain numbers or text (never Python objects, which loading would unpickle), exactly the size the
    zip records (so a compressed member cannot inflate past what its header claims), and all values
    together within ``budget`` bytes. :meth:`require` checks members against what a format needs,
    :meth:`load` reads one. Everything wrong is one ``error`` line naming the file; only a missing
    file is FileNotFoundError, for the caller to say."""

    def __init__(self, source: Path | BinaryIO, name: str, what: str, error: type[ShirtsimError], budget: int) -> None:
        self.name, self.what, self.error, self.budget = name, what, error, budget
        self.bound: dict[str, int] = {}  # lengths named in require() shapes
        self.values = 0  # bytes of all members' values, as their headers declare
        try:
            self._file = open(source, "rb") if isinstance(source, Path) else source  # closed by close()
        except OSError as e:
            if isinstance(e, FileNotFoundError):
                raise
            raise error(f"{name}: cannot be read ({e.strerror or type(e).__name__}).") from None
        self._own_file = isinstance(source, Path)
        self._zip: zipfile.ZipFile | None = None
        try:
            self._zip = self._open_archive()
            self._infos: dict[str, zipfile.ZipInfo] = {}
            self.members: dict[str, NpyHeader] = {}
            for info in self._zip.infolist():
                self._read_header(info)
        except ShirtsimError:
            self.close()
            raise
        except _UNREADABLE as e:
            self.close()
            raise self.unusable(str(e)[:80] or type(e).__name__) from None

    def unusable(self, why: str) -> ShirtsimError:
        return self.error(f"{self.name}: not a {self.what} ({why}).")

    def damaged(self, why: str) -> ShirtsimError:
        return self.error(f"{self.name}: a damaged {self.what} ({why}).")

    def _open_archive(self) -> zipfile.ZipFile:
        f = self._file
        size = f.seek(0, 2)
        if size > self.budget:
            raise self.error(f"{self.name}: too large for a {self.what} (over {size_text(self.budget)}).")
        f.seek(0)
        if f.read(4) != b"PK\x03\x04":  # np.load would try anything else as a pickle
            raise self.unusable("not an .npz archive")
        # The end record must close the file (numpy writes no comment): then zipfile reads this
        # record and no other, and its table of contents is known to be small before it is parsed.
        f.seek(max(0, size - _END_RECORD.size - 20))
        tail = f.read()
        end = _END_RECORD.unpack(tail[-_END_RECORD.size :]) if len(tail) >= _END_RECORD.size else None
        if end is None or end[0] != b"PK\x05\x06" or end[-1] != 0:
            raise self.unusable("no zip end record at the end of the file: truncated?")
        if tail.startswith(b"PK\x06\x07"):
            raise self.unusable("a zip64 archive, which numpy writes only for gigabytes")
        if end[5] > NPZ_DIRECTORY_BYTES:
            raise self.unusable(f"a table of contents of {size_text(end[5])}: far too many members")
        f.seek(0)
        return zipfile.ZipFile(f)

    def _read_header(self, info: zipfile.ZipInfo) -> None:
        member = info.filename.removesuffix(".npy")
        shown = info.filename[:60]
        if not info.filename.endswith(".npy"):
            raise self.unusable(f"member {shown!r} is not an array")
        if member in self._infos:
            raise self.unusable(f"member {shown} is there twice")
        if info.flag_bits & 1:
            raise self.unusable(f"member {shown} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self.unusable(f"member {shown} is compressed in a way numpy never writes")
        assert self._zip is not None
        try:
            with self._zip.open(info) as f:
                version = np.lib.format.read_magic(f)
                read_header = {
                    (1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0,
                }.get(version)
                if read_header is None:
                    raise ValueError(f".npy version {version}")
                shape, _, dtype = read_header(f, max_header_size=NPY_HEADER_BYTES)
                offset = f.tell()
        except _UNREADABLE as e:
            raise self.unusable(f"member {shown}: {str(e)[:80] or type(e).__name__}") from None
        if dtype.hasobject:
            raise self.unusable(f"member {shown} holds Python objects, which are never loaded")
        if dtype.names is not None or dtype.subdtype is not None or dtype.kind not in "biufU":
            raise self.unusable(f"member {shown} holds {str(dtype)[:40]} values")
        if any(n < 0 for n in shape):
            raise self.unusable(f"member {shown} has shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize  # Python integers: a claim of 10**30 stays that
        total = self.values + nbytes
        if total > self.budget:
            what = f"{' x '.join(f'{n:,}' for n in shape) or 'one'} {dtype} values" if nbytes > self.budget else ""
            raise self.error(
                f"{self.name}: too large for a {self.what} (member {shown} "
                + (f"claims {what}: {size_text(nbytes)}" if what else f"brings the values to {size_text(total)}")
                + f"; at most {size_text(self.budget)})."
            )
        if info.file_size != offset + nbytes:
            raise self.unusable(
                f"member {shown} declares {nbytes:,} bytes of values, the archive holds {info.file_size - offset:,}"
            )
        self._infos[member] = info
        self.members[member] = NpyHeader(tuple(shape), dtype, nbytes)
        self.values = total

    def require(self, member: str, kinds: str, shape: tuple[int | str | None, ...], optional: bool = False) -> bool:
        """Check ``member``'s header: values of a kind in ``kinds`` (``f`` float32 or float64, ``u``,
        ``U`` text of at most :data:`TEXT_CHARS` characters) and ``shape``, where None is any length and
        a name is a length that must be the same wherever it is used. False: an optional member is absent."""
        header = self.members.get(member)
        if header is None:
            if optional:
                return False
            raise self.damaged(f"no member {member}")
        kind, size = header.dtype.kind, header.dtype.itemsize
        if kind not in kinds or (kind == "f" and size not in (4, 8)):
            raise self.damaged(f"{member} holds {header.dtype} values, not {' or '.join(_KINDS[k] for k in kinds)}")
        if kind == "U" and size > 4 * TEXT_CHARS:
            raise self.damaged(f"{member} holds text of {size // 4:,} characters, over {TEXT_CHARS:,}")
        expected = tuple(self.bound.get(d, d) if isinstance(d, str) else d for d in shape)
        if len(header.shape) != len(shape) or any(
            isinstance(e, int) and e != n for e, n in zip(expected, header.shape)
        ):
            shown = ", ".join("any" if e is None else str(e) for e in expected) + ("," if len(expected) == 1 else "")
            raise self.damaged(f"{member} has shape {header.shape}, expected ({shown})")
        for d, n in zip(shape, header.shape):
            if isinstance(d, str):
                self.bound.setdefault(d, n)
        return True

    def load(self, member: str) -> np.ndarray:
        """One member's array (its header already checked when the archive was opened)."""
        assert self._zip is not None
        try:
            with self._zip.open(self._infos[member]) as f:
                return np.lib.format.read_array(f, allow_pickle=False, max_header_size=NPY_HEADER_BYTES)
        except _UNREADABLE as e:
            raise self.unusable(f"{member}: {str(e)[:80] or type(e).__name__}") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._own_file:
            self._file.close()

    def __enter__(self) -> CheckedNpz:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    from .texture import basis_id  # noqa: PLC0415 (texture imports the model stack)

    return f"vgg16-{weights.fingerprint}-{STYLE_VERSION}-{basis_id(weights)}"


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------


def fit_softmax(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    l2: float = L2,
    steps: int = STEPS,
    lr: float = LEARNING_RATE,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression with an L2 penalty, full-batch Adam from zeros
    (deterministic). ``x`` (N, D) standardised, ``y`` (N,) class numbers. Returns W (D, C), b (C,)."""
    n, d = x.shape
    onehot = np.eye(n_classes)[y]
    if sample_weight is not None:  # (benchmarks/crossfit.py tries class-balanced weights)
        onehot = onehot * (sample_weight / sample_weight.mean())[:, None]
    params = [np.zeros((d, n_classes)), np.zeros(n_classes)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        logits = x @ params[0] + params[1]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p * (onehot.sum(axis=1, keepdims=True)) - onehot) / n
        grads = [x.T @ g + 2.0 * l2 * params[0], g.sum(axis=0)]
        for i, grad in enumerate(grads):
            m[i] = 0.9 * m[i] + 0.1 * grad
            v[i] = 0.999 * v[i] + 0.001 * grad * grad
            params[i] -= lr * (m[i] / (1 - 0.9**t)) / (np.sqrt(v[i] / (1 - 0.999**t)) + 1e-8)
    return params[0], params[1]


def block_scales(centred: np.ndarray, side: str) -> np.ndarray:
    """Per input value of ``side``: its block's RMS over the fitting photos, over the block's gain.
    A block that hardly varies on them (a catalog of plain shirts has almost no periodicity) is
    floored at a thousandth of the whole side's RMS, so later photos cannot blow its input up."""
    scales, start = [], 0
    side_rms = float(np.sqrt((centred**2).mean())) + 1e-8
    for width, gain in SIDE_BLOCKS[side]:
        block = centred[:, start : start + width]
        rms = max(float(np.sqrt((block**2).sum(axis=1).mean() / width)), 1e-3 * side_rms)
        scales.append(np.full(width, rms / gain))
        start += width
    return np.concatenate(scales)


def learnable_classes(values: list[str], min_count: int = MIN_PER_CLASS) -> list[str]:
    """The labels of a column with enough photos to learn from (empty labels never count), sorted."""
    names, counts = np.unique([v for v in values if v], return_counts=True)
    return [str(n) for n, c in zip(names, counts) if c >= min_count]


def fit_head(raw: np.ndarray, values: list[str], column: str, side: str) -> Head:
    """One head: ``column``'s labels (``values``, one per row of ``raw``; "" for none) learned
    from ``side`` of the raw vectors. ValueError when fewer than two labels have enough photos."""
    classes = learnable_classes(values)
    if len(classes) < 2:
        raise ValueError(
            f"column {column!r} has {len(classes)} label(s) with at least {MIN_PER_CLASS} photos; it needs 2"
        )
    labels = np.asarray(values)
    rows = np.isin(labels, classes)
    x = np.asarray(raw, np.float64)[:, SIDES[side]]
    in_mean = x[rows].mean(axis=0)
    in_scale = block_scales(x[rows] - in_mean, side)
    w, b = fit_softmax((x[rows] - in_mean) / in_scale, np.searchsorted(classes, labels[rows]), len(classes))
    head = Head(column, side, tuple(classes), in_mean, in_scale, w / TEMPERATURE, b / TEMPERATURE, np.zeros(1), 1.0)
    # centre and scale on every fitting photo (labelled or not): a head's block has unit mean length
    out = head.output(np.asarray(raw, np.float32)).astype(np.float64)
    out_mean = out.mean(axis=0)
    spread = float(np.sqrt(((out - out_mean) ** 2).sum(axis=1).mean())) or 1.0
    return Head(
        column,
        side,
        tuple(classes),
        in_mean.astype(np.float32),
        in_scale.astype(np.float32),
        (w / TEMPERATURE).astype(np.float32),
        (b / TEMPERATURE).astype(np.float32),
        out_mean.astype(np.float32),
        spread / HEAD_SCALE.get(column, 1.0),
    )


def fit_projection(
    raw: np.ndarray,
    labels: dict[str, list[str]],
    columns: list[tuple[str, str]],
    descriptor: str,
    source: str,
    content_hashes: list[str] | None = None,
) -> Projection:
    """Fit a head per ``(column, side)`` on raw ``style`` vectors (N, 996) and their labels
    (column -> N strings, "" where a photo has none); ``content_hashes`` records which photos."""
    raw = np.asarray(raw, np.float32)
    heads = tuple(fit_head(raw, labels[column], column, side) for column, side in columns)
    fitted = np.unique(hash_keys(content_hashes)) if content_hashes else np.zeros(0, np.uint64)
    return Projection(heads, descriptor, source, fitted)


def hash_keys(content_hashes: list[str]) -> np.ndarray:
    """The first 8 bytes of each hex content hash, as uint64 (what a projection keeps of them)."""
    return np.array([int(h[:16], 16) for h in content_hashes], np.uint64)


def side_of(column: str) -> str:
    """Which side a column is learned from when not said: colour for colour names, else texture."""
    return "colour" if any(word in column.lower() for word in ("colour", "color")) else "texture"


def parse_columns(text: str | None, available: list[str]) -> list[tuple[str, str]]:
    """``--columns`` (``pattern,articleType,colour:baseColour``) as (column, side) pairs; a
    ``texture:`` or ``colour:`` prefix sets the side. None: every column but id and name."""
    out = []
    specs = [c.strip() for c in text.split(",")] if text else [c for c in available if c not in ("id", "name")]
    for spec in specs:
        side, sep, column = spec.partition(":")
        if not sep:
            side, column = side_of(spec), spec
        if side not in SIDES:
            raise ProjectionError(f"--columns {spec[:60]!r}: the prefix is texture: or colour:.")
        if column not in available or column in ("id", "name"):
            raise ProjectionError(f"No label column {column[:60]!r}; the labels have {', '.join(available)}.")
        out.append((column, side))
    if not out:
        raise ProjectionError("No label columns to learn from.")
    return out


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
