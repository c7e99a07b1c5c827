"""TensorFlow's and LiteRT's native start-up chatter kept off stderr, without taking stderr away
from the rest of the process.

While TensorFlow starts, its C++ side writes lines such as "oneDNN custom operations are on",
"Could not find cuda drivers" and "Created TensorFlow Lite XNNPACK delegate" straight to file
descriptor 2; ``TF_CPP_MIN_LOG_LEVEL`` no longer silences the ones logged before absl is set up.
They would make the CLI's stderr more than one line per problem. Holding all of fd 2 back while
the model loads, as shirtsim once did, also held back every other thread's lines (the server's
log) and lost them. Instead, fd 2 goes through a pipe while the model loads; a thread passes
every line on at once except those that are recognisably native start-up noise (:data:`NOISE`).
If loading fails, the dropped lines are written out after all: they may say why.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

# absl's log format ("I0000 00:00:1796284326.778749    7949 port.cc:153] ..."), its pre-init notice,
# the continuation of TensorFlow's CPU-feature notice, the int8 converter's summary and LiteRT's delegate notice.
NOISE = re.compile(
    rb"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] .*"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .*"
    rb"|fully_quantize: \d+, inference_type: .*"
    rb"|(?:INFO: )?Created TensorFlow Lite XNNPACK delegate for CPU\.)\r?\n?$"
)
STDERR = 2
_lock = threading.Lock()  # one filter at a time: fd 2 is the whole process's


@contextlib.contextmanager
def native_noise_filtered() -> Iterator[None]:
    """Within this block, lines written to fd 2 that match :data:`NOISE` are dropped; every other
    line reaches the real stderr as it is written. Re-entrant calls (another thread loading at
    the same time) simply run unfiltered."""
    fd = STDERR  # where native code writes, whatever Python's sys.stderr is (a test runner's capture)
    try:
        os.fstat(fd)
    except OSError:  # no stderr at all (a daemon): nothing to filter
        yield
        return
    if not _lock.acquire(blocking=False):
        yield
        return
    try:
        sys.stderr.flush()
        original = os.dup(fd)
        read_end, write_end = os.pipe()
        dropped: list[bytes] = []
        relay = threading.Thread(target=_relay, args=(read_end, original, dropped), daemon=True, name="stderr-filter")
        relay.start()
        os.dup2(write_end, fd)
        os.close(write_end)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(original, fd)  # the pipe's last writer is gone: the relay reads to its end and stops
            relay.join(timeout=5)
            if failed and dropped:
                os.write(original, b"".join(dropped))
            os.close(original)
    finally:
        _lock.release()


def _relay(read_end: int, out: int, dropped: list[bytes]) -> None:
    """Copy lines from the pipe to ``out``, keeping :data:`NOISE` lines aside in ``dropped``."""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                _pass_on(line + b"\n", out, dropped)
        if pending:
            _pass_on(pending, out, dropped)


def _pass_on(line: bytes, out: int, dropped: list[bytes]) -> None:
    if NOISE.match(line):
        dropped.append(line)
    else:
        os.write(out, line)
