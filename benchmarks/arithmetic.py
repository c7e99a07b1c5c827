"""Quality and speed of each arithmetic path on real-shirts-dev, side by side in one run.

    python benchmarks/arithmetic.py [--json]

Every photo of ../shared/data/real-shirts-dev is embedded by the product's own forward pass in
float32, bfloat16 (only where the CPU has it natively: emulated it is slow and says nothing) and
int8 (LiteRT, shirtsim/model/int8.py), with the packaged weights, texture basis and projection; each
set is indexed and evaluated as ``python -m shirtsim evaluate`` does (precision@10 per label
column, every photo a query once). The forward rate is the network alone, batches of 16.
About 8 minutes on two cores.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shirtsim.catalog.labels import load_labels  # noqa: E402
from shirtsim.describe.descriptors import MODES, STYLE_KIND, describe  # noqa: E402
from shirtsim.describe.projection import resolve_projection  # noqa: E402
from shirtsim.describe.texture import basis_for  # noqa: E402
from shirtsim.index.search import SearchIndex  # noqa: E402
from shirtsim.model.arithmetic import bf16_supported  # noqa: E402
from shirtsim.model.inputs import to_model_input  # noqa: E402
from shirtsim.model.vgg16 import Embedder  # noqa: E402
from shirtsim.model.weights import packaged_weights  # noqa: E402
from shirtsim.overview.evaluate import evaluate  # noqa: E402
from shirtsim.store import default_cache_dir  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real-shirts-dev"
COLUMNS = ["articleType", "baseColour", "pattern"]
MODE_NAMES = ("balanced", "pattern", "colour")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (REAL / "labels.csv").is_file():
        print(f"arithmetic: real product photos not found at {REAL}", file=sys.stderr)
        return 2
    weights = packaged_weights()
    embedder = Embedder(weights, default_cache_dir())
    basis = basis_for(embedder)
    projection = resolve_projection("auto", weights).projection
    ids = sorted((p.stem for p in REAL.glob("*.jpg")), key=lambda i: (len(i), i))
    labels = load_labels(REAL / "labels.csv", set(ids))
    inputs = np.stack([to_model_input(Image.open(REAL / f"{i}.jpg")) for i in ids])
    paths = {"float32": {}, "int8": {"int8": True}}
    if bf16_supported():
        paths = {"float32": {}, "bfloat16": {"bfloat16": True}, "int8": {"int8": True}}
    out = {}
    for name, flags in paths.items():
        embedder.forward(inputs[:16], STYLE_KIND.layers, **flags)  # warm-up: traces or converts
        raw, seconds = [], 0.0
        for start in range(0, len(ids), 16):
            batch = inputs[start : start + 16]
            t0 = time.perf_counter()
            maps = embedder.forward(batch, STYLE_KIND.layers, **flags)
            seconds += time.perf_counter() - t0
            raw.append(describe(STYLE_KIND, maps, batch, basis))
        index = SearchIndex.build(STYLE_KIND, ids, np.concatenate(raw), projection)
        out[name] = {
            "forward_img_s": round(len(ids) / seconds, 2),
            "precision": {m: evaluate(index, labels, MODES[m], COLUMNS).precision for m in MODE_NAMES},
        }
        print(f"{name}: done", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{len(ids)} photos of real-shirts-dev, precision@10 (mean of articleType, baseColour, pattern)")
    print(
        f"{'arithmetic':10} {'forward img/s':>13} " + " ".join(f"{m:>9}" for m in MODE_NAMES) + "  balanced vs float32"
    )
    for name, r in out.items():
        means = [r["precision"][m]["mean"] for m in MODE_NAMES]
        delta = means[0] - out["float32"]["precision"]["balanced"]["mean"]
        print(f"{name:10} {r['forward_img_s']:>13.2f} " + " ".join(f"{v:9.4f}" for v in means) + f"  {delta:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
