"""Nothing lost: an indexer killed with SIGKILL at random moments never leaves a cache that
loads as valid but wrong, and every next run finishes and reuses what was completed."""

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
from helpers import DEMO, ROOT


@pytest.mark.slow
def test_kill_9_at_random_points_then_finish(tmp_path):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for n in range(1001, 1081):
        shutil.copy(DEMO / f"{n}.jpg", catalog / f"{n}.jpg")
    cmd = [sys.executable, "-m", "shirtsim", "index", "--catalog", str(catalog)]
    env = dict(os.environ, SHIRTSIM_CACHE_DIR=str(tmp_path / "cache"), SHIRTSIM_WEIGHTS="packaged")
    rng = random.Random(9)
    for _ in range(10):
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(3.0, 9.0))  # model load takes a few seconds; embedding follows
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    summary = out.stdout.splitlines()[0]
    embedded = int(summary.split("; ")[1].split(" embedded")[0])
    reused = int(summary.split(", ")[1].split(" reused")[0])
    assert embedded + reused == 80 and reused > 0, summary
    assert "damaged" not in out.stdout  # atomic renames: no half-written entry under a real name
    leftovers = [p for p in (tmp_path / "cache").rglob(".tmp-*")]
    assert len(leftovers) <= 10  # at most one temporary file per kill, never loaded


@pytest.mark.slow
def test_two_indexers_on_one_cache_at_once(tmp_path, demo_engine):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for n in range(1101, 1141):
        shutil.copy(DEMO / f"{n}.jpg", catalog / f"{n}.jpg")
    cmd = [sys.executable, "-m", "shirtsim", "index", "--catalog", str(catalog)]
    env = dict(os.environ, SHIRTSIM_CACHE_DIR=str(tmp_path / "cache"), SHIRTSIM_WEIGHTS="packaged")
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outs]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.stdout.startswith(f"catalog {catalog}: 40 image files; 0 embedded, 40 reused, 0 skipped"), out.stdout
    assert "damaged" not in out.stdout
    # what both wrote is what one indexer alone computed for the same images (the session's demo cache)
    import numpy as np

    from shirtsim.describe.descriptors import STYLE_KIND
    from shirtsim.index.build import fingerprint
    from shirtsim.store import VectorStore, content_hash

    demo_engine.index(STYLE_KIND)
    key = fingerprint(demo_engine.weights, STYLE_KIND)
    both, alone = VectorStore(tmp_path / "cache", key), VectorStore(demo_engine.cache_dir, key)
    for n in range(1101, 1141):
        h = content_hash((DEMO / f"{n}.jpg").read_bytes())
        np.testing.assert_allclose(both.get(h), alone.get(h), rtol=1e-4, atol=1e-4)
