"""TensorFlow's native start-up chatter is dropped while the model loads; every other line a
process writes to stderr meanwhile (the server's log) still arrives, in order, at once."""

import subprocess
import sys

from helpers import ROOT

SCRIPT = r"""
import logging, os, sys, threading, time
from shirtsim.model.noise import native_noise_filtered
logging.basicConfig(level=logging.INFO, format="%(message)s")
NOISE = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"I0000 00:00:1796284326.778749    7949 port.cc:153] oneDNN custom operations are on. You may see...\n",
    b"E0000 00:00:1796284339.643431    8307 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n",
    b"To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow.\n",
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
]
seen_inside = threading.Event()

def server_log():
    logging.getLogger("server").info("a visitor's page failed: disk full")  # another thread, meanwhile
    seen_inside.set()

with native_noise_filtered():
    for line in NOISE[:2]:
        os.write(2, line)
    t = threading.Thread(target=server_log)
    t.start()
    t.join()
    for line in NOISE[2:]:
        os.write(2, line)
    os.write(2, b"E1203 a line that only looks like a log line\n")
    print("python's own stderr", file=sys.stderr)
    if sys.argv[1] == "fail":
        raise SystemExit("loading failed")
print("after", file=sys.stderr)
"""


def run(how: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, how], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_only_native_noise_is_dropped_and_the_rest_arrives_in_order():
    out = run("ok")
    assert out.returncode == 0
    assert out.stderr.splitlines() == [
        "a visitor's page failed: disk full",
        "E1203 a line that only looks like a log line",
        "python's own stderr",
        "after",
    ]


def test_when_loading_fails_the_dropped_lines_are_written_after_all():
    out = run("fail")
    lines = out.stderr.splitlines()
    assert lines[:3] == ["a visitor's page failed: disk full", "E1203 a line that only looks like a log line",
                         "python's own stderr"]  # fmt: skip
    assert "oneDNN custom operations are on" in lines[4] and "XNNPACK" in lines[7]
    assert lines[-1] == "loading failed"
