"""Hostile and broken .npz files (a projection, colour directions): each refused in one line from
its headers, before anything large is read and before the model is loaded (shirtsim.describe.projection.CheckedNpz)."""

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest
from helpers import ROOT

from shirtsim.describe import colour_blind
from shirtsim.describe.colour_blind import ColourDirectionsError, directions_for, load_directions
from shirtsim.describe.projection import PACKAGED_FILE, ProjectionError, load_projection
from shirtsim.model.weights import Weights
from shirtsim.store import read_blob, write_blob

GROWTH_MB = 100  # the requirement is 300 MB; a file's values may take at most 64 MB


def arrays_of(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


PROJECTION = arrays_of(PACKAGED_FILE)
DIRECTIONS = arrays_of(colour_blind.SHIPPED_FILE)


def npz(arrays: dict, compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def changed(base: dict, **arrays) -> bytes:
    """``base`` with some members replaced (a value of None leaves the member out)."""
    return npz({k: v for k, v in {**base, **arrays}.items() if v is not None})


def npy_header(shape: tuple, descr: str = "<f4", version: int = 1) -> bytes:
    """An .npy header claiming ``shape`` whatever follows it."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    size = 4 if version > 1 else 2
    pad = -(10 + size - 2 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY" + bytes([version, 0]) + len(text).to_bytes(size, "little") + text


def raw_zip(members: list[tuple], comment: bytes = b"", before_end: bytes = b"") -> bytes:
    """A zip written by hand, so that a member may declare any size, compression and flags: each
    member is (name, bytes as stored, method, crc, uncompressed size, flags)."""
    out, directory = bytearray(), bytearray()
    for name, stored, method, crc, size, flags in members:
        name = name.encode()
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 33, crc, len(stored), size, len(name), 0)
        directory += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 33, crc, len(stored), size, len(name), 0, 0, 0, 0,
            0, len(out),
        ) + name  # fmt: skip
        out += local + name + stored
    start = len(out)
    out += directory + before_end
    n = len(members)
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(directory), start, len(comment)) + comment
    return bytes(out)


def stored(name: str, data: bytes, **kw) -> tuple:
    member = {"method": 0, "crc": zlib.crc32(data), "size": len(data), "flags": 0} | kw
    return (name, data, member["method"], member["crc"], member["size"], member["flags"])


def with_member(base: bytes, name: str, member: tuple | None) -> bytes:
    """The archive ``base`` with member ``name`` replaced by a hand-made one."""
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        members = [stored(i.filename, z.read(i)) for i in z.infolist() if i.filename != name]
    return raw_zip(members + ([member] if member else []))


def deflated_bomb(head: bytes, zeros_mb: int) -> bytes:
    """A raw deflate stream of ``head`` then ``zeros_mb`` MB of zeros: about 1 KB per MB."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)  # after a full flush: the same bytes each MB
    return start + block * zeros_mb + c.flush()


def zeros_crc(head: bytes, zeros_mb: int) -> int:
    crc, mb = zlib.crc32(head), bytes(1 << 20)
    for _ in range(zeros_mb):
        crc = zlib.crc32(mb, crc)
    return crc


def hostile(base: bytes, member: str, shape: tuple, bomb_mb: int) -> dict[str, tuple[bytes, str]]:
    """Archive-level attacks on ``member`` (whose true shape is ``shape``) of the whole file ``base``:
    case -> (file, what the one line says). The bomb inflates to ``bomb_mb`` MB (its file: ~1 KB a MB)."""
    name = member + ".npy"
    true_head = npy_header(shape)
    true_size = len(true_head) + 4 * int(np.prod(shape))
    bomb = deflated_bomb(true_head, bomb_mb)
    claim = npy_header((10**9, 1020))
    honest_bomb_head = npy_header((256 << 18,))  # 256 MB of float32, really in the stream
    many = [stored(f"m{n}.npy", b"") for n in range(6000)]
    bz = zlib.compress(true_head)  # its bytes do not matter: the method is refused first
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        first = stored(z.infolist()[0].filename, z.read(z.infolist()[0]))
    return {
        "not a zip": (true_head + bytes(64), "not an .npz archive"),
        "empty": (b"", "not an .npz archive"),
        "truncated": (base[: len(base) // 2], "no zip end record at the end of the file: truncated?"),
        "a comment after the end record": (raw_zip([stored(name, true_head)], comment=b"x"), "no zip end record"),
        "zip64": (raw_zip([stored(name, true_head)], before_end=b"PK\x06\x07" + bytes(16)), "a zip64 archive"),
        "6,000 members": (raw_zip(many), "far too many members"),
        "a header claiming 4 TB": (
            with_member(base, name, stored(name, claim + bytes(16))),
            f"member {name} claims 1,000,000,000 x 1,020 float32 values: 3.7 TB; at most",
        ),
        "an honest 256 MB zip bomb": (
            with_member(
                base,
                name,
                (
                    name,
                    deflated_bomb(honest_bomb_head, 256),
                    8,
                    zeros_crc(honest_bomb_head, 256),
                    len(honest_bomb_head) + (256 << 20),
                    0,
                ),
            ),
            f"member {name} claims 67,108,864 float32 values: 256 MB; at most",
        ),
        "a zip bomb declaring its size": (
            with_member(base, name, (name, bomb, 8, 0, len(true_head) + (bomb_mb << 20), 0)),
            f"member {name} declares {true_size - len(true_head):,} bytes of values, the archive holds "
            f"{bomb_mb << 20:,}",
        ),
        "a zip bomb declaring the true size": (
            with_member(base, name, (name, bomb, 8, 0, true_size, 0)),
            f"{member}: Bad CRC-32",
        ),
        "bzip2": (with_member(base, name, (name, bz, 12, 0, true_size, 0)), "compressed in a way numpy never writes"),
        "encrypted": (with_member(base, name, stored(name, true_head, flags=1)), "is encrypted"),
        "a member cut short": (
            with_member(base, name, stored(name, true_head + bytes(8))),
            f"member {name} declares {true_size - len(true_head):,} bytes of values, the archive holds 8",
        ),
        "npy version 3": (
            with_member(base, name, stored(name, b"\x93NUMPY\x03\x00" + true_head[8:])),
            f"member {name}: .npy version (3, 0)",
        ),
        "a garbage header": (
            with_member(base, name, stored(name, b"\x93NUMPY\x01\x00\x10\x00{not python}   \n")),
            f"member {name}: ",
        ),
        "a negative shape": (
            with_member(base, name, stored(name, npy_header((-1, 4)))),
            f"member {name} has shape (-1, 4)",
        ),
        "a pickle": (
            with_member(base, name, stored(name, npy_header((1,), "|O") + b"\x80\x04N.")),
            f"member {name} holds Python objects, which are never loaded",
        ),
        "a structured dtype": (
            with_member(base, name, stored(name, npy_header((1,), [("a", "<f4")]) + bytes(4))),
            f"member {name} holds [('a', '<f4')] values",
        ),
        "not an array": (with_member(base, "x.txt", stored("x.txt", b"hello")), "member 'x.txt' is not an array"),
        "a member twice": (raw_zip([first, first]), "is there twice"),
    }


def projection_cases() -> dict[str, tuple[bytes, str]]:
    base = PACKAGED_FILE.read_bytes()
    damaged = "a damaged projection file"
    cases = {f"archive: {k}": v for k, v in hostile(base, "0.weights", (559, 3), 1024).items()}
    cases |= {
        "another npz": (npz({"x": np.zeros(3)}), "not a projection file (no member format)."),
        "text for numbers": (changed(PROJECTION, **{"0.weights": np.full((559, 3), "1.5")}), "holds <U3 values"),
        "integers for floats": (
            changed(PROJECTION, **{"0.bias": np.zeros(3, np.int64)}),
            f"{damaged} (0.bias holds int64 values, not floats).",
        ),
        "a missing member": (changed(PROJECTION, **{"2.out_mean": None}), f"{damaged} (no member 2.out_mean)."),
        "shapes that disagree": (
            changed(PROJECTION, **{"1.bias": np.zeros(5, np.float32)}),
            f"{damaged} (1.bias has shape (5,), expected (4,)).",
        ),
        "the wrong side width": (
            changed(PROJECTION, **{"2.in_mean": np.zeros(559, np.float32)}),
            f"{damaged} (2.in_mean has shape (559,), expected (437,)).",
        ),
        "too many classes for 4,096 bytes": (
            changed(
                PROJECTION,
                **{
                    "2.classes": np.array([f"c{n}" for n in range(40)]),
                    "2.weights": np.zeros((437, 40), np.float32),
                    "2.bias": np.zeros(40, np.float32),
                    "2.out_mean": np.zeros(40, np.float32),
                },
            ),
            f"{damaged} (1043 values per item: over 4,096 bytes).",
        ),
        "NaN": (changed(PROJECTION, **{"0.in_mean": np.full(559, np.nan, np.float32)}), "head 0 in_mean is not finite"),
        "infinity": (changed(PROJECTION, **{"2.out_scale": np.float32(np.inf)}), "head 2 out_scale is not finite"),
        "a text of 100,000 characters": (
            changed(PROJECTION, source=np.array("x" * 100_000)),
            f"{damaged} (source holds text of 100,000 characters, over 1,024).",
        ),
        "9 million fitted photos, compressed": (
            npz({**PROJECTION, "fitted": np.zeros(9_000_000, np.uint64)}, compressed=True),
            "too large for a projection file (member fitted.npy claims 9,000,000 uint64 values: 69 MB; at most 64 MB).",
        ),
    }
    return cases


def directions_cases() -> dict[str, tuple[bytes, str]]:
    base = colour_blind.SHIPPED_FILE.read_bytes()
    damaged = "a damaged colour-directions file"
    d = DIRECTIONS["directions"]
    cases = {f"archive: {k}": v for k, v in hostile(base, "directions", d.shape, 512).items()}
    cases |= {
        "three directions": (changed(DIRECTIONS, directions=d[:3]), f"{damaged} (directions has shape (3, 528), "),
        "no key": (changed(DIRECTIONS, key=None), f"{damaged} (no member key)."),
        "a number for a key": (changed(DIRECTIONS, key=np.int64(3)), f"{damaged} (key holds int64 values, not text)."),
        "NaN": (changed(DIRECTIONS, directions=np.where(d > 0.1, np.nan, d)), "directions that are not finite"),
        "not orthonormal": (changed(DIRECTIONS, directions=d * 2), "directions that are not orthonormal"),
    }
    return cases


PROJECTION_CASES = projection_cases()
DIRECTIONS_CASES = directions_cases()


def test_the_bombs_inflate_to_what_they_say_and_good_files_still_load():
    stream = deflated_bomb(b"head", 64)  # the 1 GB bomb is the same construction, 1,024 blocks
    inflate, total = zlib.decompressobj(-15), 0
    for start in range(0, len(stream), 4096):
        total += len(inflate.decompress(stream[start : start + 4096]))
    assert total == 4 + (64 << 20) and inflate.eof
    assert len(PROJECTION_CASES["archive: a zip bomb declaring its size"][0]) < 2 << 20
    assert load_projection(PACKAGED_FILE).layout.dim == 1020  # the shipped files pass the checks
    assert load_directions(colour_blind.SHIPPED_FILE)[0].shape == (12, 528)


@pytest.mark.parametrize("case", PROJECTION_CASES)
def test_a_hostile_projection_file_is_refused_in_one_line(tmp_path, case):
    content, message = PROJECTION_CASES[case]
    (tmp_path / "bad.npz").write_bytes(content)
    with pytest.raises(ProjectionError) as e:
        load_projection(tmp_path / "bad.npz")
    line = str(e.value)
    assert line.startswith("bad.npz: ") and message in line and "\n" not in line and line.endswith(".")


@pytest.mark.parametrize("case", DIRECTIONS_CASES)
def test_a_hostile_colour_directions_file_is_refused_in_one_line(tmp_path, case):
    content, message = DIRECTIONS_CASES[case]
    (tmp_path / "colour_directions.npz").write_bytes(content)
    with pytest.raises(ColourDirectionsError) as e:
        load_directions(tmp_path / "colour_directions.npz")
    line = str(e.value)
    assert line.startswith("colour_directions.npz: ") and message in line and "\n" not in line


@pytest.mark.parametrize("case", ["archive: a header claiming 4 TB", "archive: a zip bomb declaring its size", "NaN"])
def test_hostile_directions_in_the_cache_are_fitted_again_and_a_shipped_one_is_an_error(monkeypatch, tmp_path, case):
    fitted = np.linalg.qr(np.random.default_rng(6).normal(size=(528, 12)))[0].T
    fits = []
    monkeypatch.setattr(colour_blind, "fit_colour_directions", lambda model, sources: fits.append(model) or fitted)
    other = Weights("file", None, "other-weights", "test")
    monkeypatch.setattr(colour_blind, "_fitted", {})
    directions_for(other, lambda: "first", tmp_path)
    (stored_file,) = (tmp_path / "colour-directions").iterdir()
    write_blob(stored_file, DIRECTIONS_CASES[case][0])  # whole and checksummed: only its content is hostile
    monkeypatch.setattr(colour_blind, "_fitted", {})
    assert np.allclose(directions_for(other, lambda: "again", tmp_path), fitted, atol=1e-6)
    assert fits == ["first", "again"]
    rewritten = load_directions(io.BytesIO(read_blob(stored_file)), stored_file.name)[0]
    assert np.allclose(rewritten, fitted, atol=1e-6)

    shipped = tmp_path / "colour_directions.npz"
    shipped.write_bytes(DIRECTIONS_CASES[case][0])
    monkeypatch.setattr(colour_blind, "SHIPPED_FILE", shipped)
    monkeypatch.setattr(colour_blind, "_fitted", {})
    with pytest.raises(ColourDirectionsError, match=r"^colour_directions\.npz: .* It ships with shirtsim: reinstall"):
        directions_for(other, lambda: "never")
    assert fits == ["first", "again"]


def test_a_huge_file_in_the_cache_is_not_even_read(monkeypatch, tmp_path):
    fitted = np.linalg.qr(np.random.default_rng(7).normal(size=(528, 12)))[0].T
    monkeypatch.setattr(colour_blind, "fit_colour_directions", lambda model, sources: fitted)
    monkeypatch.setattr(colour_blind, "_fitted", {})
    other = Weights("file", None, "other-weights", "test")
    directions_for(other, lambda: "model", tmp_path)
    (stored_file,) = (tmp_path / "colour-directions").iterdir()
    with open(stored_file, "r+b") as f:
        f.truncate(1 << 40)  # a sparse terabyte: reading it would end the process
    monkeypatch.setattr(colour_blind, "read_blob", lambda path: pytest.fail("read a terabyte"))
    monkeypatch.setattr(colour_blind, "write_blob", lambda path, data: None)
    monkeypatch.setattr(colour_blind, "_fitted", {})
    assert np.allclose(directions_for(other, lambda: "model", tmp_path), fitted, atol=1e-6)


MEASURE = r"""
import json, sys
from pathlib import Path
from shirtsim.describe.colour_blind import ColourDirectionsError, load_directions
from shirtsim.describe.projection import ProjectionError, load_projection

def status_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

growth, outcomes = {}, {}
for path in map(Path, sys.argv[1:]):
    load = load_directions if path.name.startswith("directions") else load_projection
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM back to the current RSS: each file's own peak
    except OSError:
        pass  # then the peak includes earlier files': only ever an overestimate
    idle = status_kb("VmRSS")
    try:
        load(path)
        outcomes[path.name] = "loaded"
    except (ProjectionError, ColourDirectionsError) as e:
        outcomes[path.name] = str(e)
    growth[path.name] = (status_kb("VmHWM") - idle) / 1024
model = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
print(json.dumps({"growth_mb": growth, "outcomes": outcomes, "model_stack": model}))
"""


def test_refusing_any_hostile_file_costs_far_under_300_mb(tmp_path):
    paths = []
    for prefix, cases in (("projection", PROJECTION_CASES), ("directions", DIRECTIONS_CASES)):
        for n, (content, _) in enumerate(cases.values()):
            paths.append(tmp_path / f"{prefix}-{n}.npz")
            paths[-1].write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *map(str, paths)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["model_stack"] == []
    assert [p.name for p in paths if result["outcomes"][p.name] == "loaded"] == []
    worst = max(result["growth_mb"], key=result["growth_mb"].get)
    print(f"\nworst: {worst} +{result['growth_mb'][worst]:.1f} MB ({result['outcomes'][worst]})")
    assert result["growth_mb"][worst] < GROWTH_MB, result["outcomes"][worst]


BLOCK_THE_MODEL = (
    "import runpy, sys; sys.modules.update(tensorflow=None, keras=None); "  # importing either now fails
    "sys.argv[0] = 'shirtsim'; runpy.run_module('shirtsim', run_name='__main__', alter_sys=True)"
)


@pytest.mark.parametrize("case", ["archive: a header claiming 4 TB", "archive: a zip bomb declaring its size", "NaN"])
def test_the_cli_refuses_a_hostile_projection_in_one_line_without_loading_the_model(tmp_path, case):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(PROJECTION_CASES[case][0])
    env = {**os.environ, "SHIRTSIM_WEIGHTS": "packaged", "SHIRTSIM_CACHE_DIR": str(tmp_path / "cache")}
    for command in ([sys.executable, "-m", "shirtsim"], [sys.executable, "-c", BLOCK_THE_MODEL]):
        done = subprocess.run(
            [*command, "similar", "1001", "--projection", str(bad)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("shirtsim: bad.npz: ")
        assert PROJECTION_CASES[case][1] in done.stderr
