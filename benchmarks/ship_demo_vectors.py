"""Rewrite assets/demo-vectors: the demo catalog's raw style vectors for the packaged weights,
one set per arithmetic path (shirtsim.shipped), so a first start embeds nothing.

    python benchmarks/ship_demo_vectors.py

Each path runs in its own process (the bfloat16 choice is made once per process): bfloat16
where the CPU has it natively, and float32 (``SHIRTSIM_FLOAT32=1``). On a CPU without native
bfloat16 only the float32 set can be made; the script says so and keeps the committed bfloat16 set.
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
    from shirtsim import shipped
    from shirtsim.demo import DEMO_CATALOG
    from shirtsim.descriptors import STYLE_KIND
    from shirtsim.engine import Engine
    from shirtsim.index import fingerprint
    from shirtsim.weights import packaged_weights

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
    from shirtsim.embedding import bf16_supported

    paths = [{"SHIRTSIM_FLOAT32": "1"}] + ([{"SHIRTSIM_FLOAT32": ""}] if bf16_supported() else [])
    if not bf16_supported():
        print("this CPU has no native bfloat16: only the float32 set is rewritten", file=sys.stderr)
    for env in paths:
        subprocess.run([sys.executable, __file__, "--one-path"], env={**os.environ, **env}, check=True, cwd=ROOT)
    return 0


if __name__ == "__main__":
    if "--one-path" in sys.argv:
        one_path()
    else:
        sys.exit(main())
