"""Rewrite assets/demo-vectors: the demo catalog's raw style vectors for the packaged weights,
one set per arithmetic path (shirtsim.index.shipped), so a first start embeds nothing.

    python tools/ship_demo_vectors.py

Each path runs in its own process (``SHIRTSIM_ARITHMETIC``): float32, int8 (LiteRT) and
bfloat16 where the CPU has it natively. On a CPU without native bfloat16 that set cannot be made;
the script says so and keeps the committed one.
Run it after any change to the descriptor recipe, the texture basis or the packaged weights
(``tests/test_shipped.py`` fails until then).
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def one_path() -> None:
    """In this process's arithmetic: embed the demo with a fresh cache and write its set."""
    from shirtsim.catalog.assets import DEMO_CATALOG
    from shirtsim.describe.descriptors import STYLE_KIND
    from shirtsim.engine import Engine
    from shirtsim.index import shipped
    from shirtsim.index.build import fingerprint
    from shirtsim.model.weights import packaged_weights

    shipped.FOLDER, folder = Path(tempfile.mkdtemp()), shipped.FOLDER  # embed for real, not from the old set
    with tempfile.TemporaryDirectory() as cache:
        engine = Engine(
            DEMO_CATALOG, weights=packaged_weights(), cache_dir=cache, projection="none", index_backend="memory"
        )
        _, report = engine.index_with_report(STYLE_KIND)
        ids, raw = engine.raw_vectors(STYLE_KIND)
        vectors = {report.contents[i]: row for i, row in zip(ids, raw)}
        fp = fingerprint(engine.weights, STYLE_KIND)
        shipped.write_shipped(folder, fp, vectors)
        print(f"wrote {folder / fp}.vec: {len(vectors)} vectors ({report.embedded} embedded)")


def main() -> int:
    from shirtsim.model.arithmetic import bf16_supported

    paths = ["float32", "int8"] + (["bfloat16"] if bf16_supported() else [])
    if not bf16_supported():
        print("this CPU has no native bfloat16: the bfloat16 set is kept as it is", file=sys.stderr)
    for path in paths:
        env = {**os.environ, "SHIRTSIM_ARITHMETIC": path, "SHIRTSIM_FLOAT32": ""}
        subprocess.run([sys.executable, __file__, "--one-path"], env=env, check=True, cwd=ROOT)
    return 0


if __name__ == "__main__":
    if "--one-path" in sys.argv:
        one_path()
    else:
        sys.exit(main())
