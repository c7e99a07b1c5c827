"""``fit-texture-basis``, ``fit-colour-directions``, ``fit-projection``: refit the files a set of
weights uses (the shipped ones for the packaged weights only with ``--force``)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import TYPE_CHECKING

from shirtsim.cli.args import (
    catalog_opts,
    engine_for,
    int_between,
    labels_path,
    read_labels,
)
from shirtsim.cli.output import ProgressBar, say
from shirtsim.describe.colour_blind import DRAWINGS
from shirtsim.errors import ShirtsimError
from shirtsim.outputs import refuse_to_replace, write_atomically

if TYPE_CHECKING:
    from shirtsim.engine import Engine


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The fit-texture-basis, fit-colour-directions, fit-projection commands."""
    sp = sub.add_parser("fit-texture-basis", help="refit the style texture basis (PCA, no labels) on a catalog")
    catalog_opts(sp)
    sp.add_argument(
        "--every", type=int_between(1, 1_000_000), default=2, help="use every Nth image in id order (default 2: half)"
    )
    sp.add_argument(
        "--out",
        metavar="FILE",
        help="write it here instead of over the basis shipped for the packaged weights "
        "(to compare: other weights always use a basis fitted on the demo catalog)",
    )
    sp.add_argument("--force", action="store_true", help="replace FILE (or the shipped basis) if it exists")
    sp.set_defaults(run=cmd_fit_texture_basis)

    sp = sub.add_parser(
        "fit-colour-directions",
        help="refit the directions a colour change moves the texture part along (for 'this pattern in that colour')",
    )
    catalog_opts(sp)
    sp.add_argument(
        "--every", type=int_between(1, 1_000_000), default=3, help="use every Nth image in id order (default 3)"
    )
    sp.add_argument(
        "--drawings",
        type=int_between(1, 10_000),
        default=DRAWINGS,
        help=f"drawn shirts to add (default {DRAWINGS}, as shipped)",
    )
    sp.add_argument(
        "--out",
        metavar="FILE",
        help="write it here instead of over the file shipped for the packaged weights, to compare: "
        "nothing reads it (other weights fit theirs from drawings on first use and keep them in the cache)",
    )
    sp.add_argument("--force", action="store_true", help="replace FILE (or the shipped directions) if it exists")
    sp.set_defaults(run=cmd_fit_colour_directions)

    sp = sub.add_parser(
        "fit-projection", help="learn which descriptor directions matter from a labelled catalog (labels.csv)"
    )
    catalog_opts(sp)
    sp.add_argument("--labels", metavar="CSV", help="labels file (default: the catalog's labels.csv)")
    sp.add_argument(
        "--columns",
        help="comma-separated label columns to learn; prefix texture: or colour: to say which part learns it "
        "(default: every column but id and name; colour names from the colour parts, the rest from texture)",
    )
    sp.add_argument("--out", metavar="FILE", help="where to write it (default: in the cache; never in the catalog)")
    sp.add_argument("--force", action="store_true", help="replace the output file if it exists")
    sp.set_defaults(run=cmd_fit_projection)


def _fitting_on(args: argparse.Namespace, shipped: str, fit: str) -> tuple[Engine, list]:
    """The engine (raw vectors: fitted below any projection) and every ``--every``th catalog item,
    for a command that refits a file shipped for the packaged weights."""
    from shirtsim.describe.texture import SHIPPED_BASIS_WEIGHTS  # noqa: PLC0415

    engine = engine_for(args, index_backend="memory", projection="none")
    if not args.out and engine.weights.fingerprint != SHIPPED_BASIS_WEIGHTS:
        raise ShirtsimError(
            f"The shipped {shipped} for the packaged weights, not {engine.weights.label}: pass --out FILE."
        )
    items = engine.catalog.items[:: args.every]
    if len(items) < 2:
        raise ShirtsimError(f"{engine.catalog.root}: too few images to fit {fit} ({len(items)}).")
    return engine, items


def cmd_fit_texture_basis(args: argparse.Namespace) -> int:
    import numpy as np  # noqa: PLC0415

    from shirtsim.describe.texture import SHIPPED_BASIS_FILE, fit_texture_basis, texture_maps  # noqa: PLC0415

    engine, items = _fitting_on(args, "basis is", "a basis")  # no model yet: only the catalog and the weights' name
    out = Path(args.out) if args.out else SHIPPED_BASIS_FILE
    refuse_to_replace(out, args.force, "" if args.out else "the basis shipped for the packaged weights")
    basis = fit_texture_basis(texture_maps([item.path for item in items], engine.embedder))
    buffer = io.BytesIO()
    np.save(buffer, basis, allow_pickle=False)
    write_atomically(out, buffer.getvalue())
    say(f"fitted on {len(items)} images of {engine.catalog.root}; wrote {out}")
    return 0


def cmd_fit_colour_directions(args: argparse.Namespace) -> int:
    from shirtsim.catalog.images import decode_image, read_limited  # noqa: PLC0415
    from shirtsim.describe import colour_blind  # noqa: PLC0415

    engine, items = _fitting_on(args, "colour directions are", "colour directions")
    out = Path(args.out) if args.out else colour_blind.SHIPPED_FILE
    refuse_to_replace(out, args.force, "" if args.out else "the directions shipped for the packaged weights")

    decoded = []

    def photos():  # noqa: ANN202 (a generator of PIL images, imported lazily)
        for item in items:
            try:
                yield decode_image(read_limited(item.path), item.path.name)
                decoded.append(item.id)
            except ShirtsimError as e:  # one unreadable photo does not stop the fit
                say(f"note: {item.id}: {e}", err=True)

    sources = [
        colour_blind.hue_variants(photos()),
        colour_blind.drawn_variants(args.drawings),
        colour_blind.drawn_variants(args.drawings, hue=True),
    ]
    directions = colour_blind.fit_colour_directions(engine.embedder, sources)
    colour_blind.save_directions(out, directions, engine.weights)
    say(f"fitted on {len(decoded)} photos of {engine.catalog.root} and {args.drawings} drawn shirts; wrote {out}")
    return 0


def cmd_fit_projection(args: argparse.Namespace) -> int:
    from shirtsim.describe.descriptors import STYLE_KIND  # noqa: PLC0415
    from shirtsim.describe.projection import descriptor_id  # noqa: PLC0415
    from shirtsim.describe.projection_fit import fit_projection, parse_columns  # noqa: PLC0415
    from shirtsim.store import catalog_key  # noqa: PLC0415

    engine = engine_for(args, index_backend="memory", projection="none")  # fitted on the raw vectors
    root = engine.catalog.root.resolve()
    out = (
        Path(args.out).expanduser()
        if args.out
        else engine.cache_dir / "projections" / f"{root.name[:60]}-{catalog_key(root)[:12]}.npz"
    )
    if out.resolve().is_relative_to(root):
        raise ShirtsimError(f"{out}: inside the catalog folder; the catalog is never written to. Choose another --out.")
    refuse_to_replace(out, args.force)
    labels_file = labels_path(args, engine)
    ids, raw = engine.raw_vectors(STYLE_KIND, progress=ProgressBar())
    contents = engine.index_with_report(STYLE_KIND)[1].contents
    labels = read_labels(labels_file, ids)
    columns = parse_columns(args.columns, labels.columns)
    keep = [n for n, i in enumerate(ids) if i in labels.rows]
    values = {c: [labels.rows[ids[n]].get(c, "") for n in keep] for c, _ in columns}
    source = f"{root.name[:60]} ({len(keep)} labelled photos)"
    try:
        projection = fit_projection(
            raw[keep], values, columns, descriptor_id(engine.weights), source, [contents[ids[n]] for n in keep]
        )
    except ValueError as e:
        raise ShirtsimError(f"Cannot fit a projection: {e}.") from None
    projection.save(out)
    say(f"fitted on {len(keep)} labelled photos of {root}: {projection.describe()}")
    say(f"wrote {out}; use it with SHIRTSIM_PROJECTION={out} (or --projection {out})")
    return 0
