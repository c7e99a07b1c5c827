"""Fitting a learned projection from a labelled catalog (``shirtsim fit-projection``): one
L2-regularised softmax head per label column, on the texture side or the colour side alone
(numpy, deterministic)."""

from __future__ import annotations

import numpy as np

from shirtsim.describe.projection import L2, SIDE_BLOCKS, SIDES, Head, Projection, ProjectionError, hash_keys

MIN_PER_CLASS = 8  # a label with fewer photos is left out of the fit (too few to learn from)
TEMPERATURE = 0.5
STEPS = 400
LEARNING_RATE = 0.05
HEAD_SCALE = {"pattern": 2.0}  # a head named so weighs this much more inside its part


def fit_softmax(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    l2: float = L2,
    steps: int = STEPS,
    lr: float = LEARNING_RATE,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression with an L2 penalty, full-batch Adam from zeros, its step
    size falling to zero along a half cosine. ``x`` (N, D) standardised, ``y`` (N,) class numbers.
    Returns W (D, C), b (C,).

    Why the falling step: at a constant step Adam never settles; it circles the optimum, and which
    way it has drifted after 400 steps depended on the last bit of the input (a change of 1e-7 of
    each value, float32's own rounding, moved the pattern head's outputs by up to 1.4, so another
    CPU refitted another projection). The penalty makes the optimum unique, and a step that falls
    to zero reaches it: 400 steps land within 0.008 of 2,000, and inputs changed by 1e-6 change
    the outputs by less than 0.001 (docs/similarity.md, "Reproducible")."""
    n, d = x.shape
    onehot = np.eye(n_classes)[y]
    if sample_weight is not None:  # (benchmarks/crossfit.py tries class-balanced weights)
        onehot = onehot * (sample_weight / sample_weight.mean())[:, None]
    params = [np.zeros((d, n_classes)), np.zeros(n_classes)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        rate = lr * 0.5 * (1.0 + np.cos(np.pi * t / steps))
        logits = x @ params[0] + params[1]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p * (onehot.sum(axis=1, keepdims=True)) - onehot) / n
        grads = [x.T @ g + 2.0 * l2 * params[0], g.sum(axis=0)]
        for i, grad in enumerate(grads):
            m[i] = 0.9 * m[i] + 0.1 * grad
            v[i] = 0.999 * v[i] + 0.001 * grad * grad
            params[i] -= rate * (m[i] / (1 - 0.9**t)) / (np.sqrt(v[i] / (1 - 0.999**t)) + 1e-8)
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
