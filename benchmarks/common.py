"""What the benchmarks share: the project's paths, Debian's chromium, the large catalog made from
real photos, and a Streamlit server on a free port. (The launcher and the catalog maker live in
tests/support/, which the tests use too: tests never import benchmarks.)"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.apptest import pick  # noqa: E402,F401 (for the benchmarks)
from tests.support.catalogs import make_large_catalog  # noqa: E402,F401 (for the benchmarks)
from tests.support.chromium import launch_chromium  # noqa: E402,F401 (for the benchmarks)

DEMO = ROOT / "assets" / "demo-catalog"
REAL_SHIRTS = ROOT.parent / "shared" / "data" / "real-shirts-dev"


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def catalog_env(catalog, cache, **extra):
    env = dict(os.environ, SHIRTSIM_CATALOG=str(catalog), SHIRTSIM_CACHE_DIR=str(cache), SHIRTSIM_WEIGHTS="packaged")
    return {**env, **extra}


@contextmanager
def streamlit_server(catalog, cache, log_path, **extra_env):
    """``streamlit run app.py`` on a free port (its output appended to ``log_path``); yields its URL
    once the health check answers, and stops it on the way out, whatever happened."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    with open(log_path, "ab") as out:
        env = catalog_env(catalog, cache, **extra_env)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with status {proc.returncode}; see {log_path}")
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not answer within 120 s; see {log_path}") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
