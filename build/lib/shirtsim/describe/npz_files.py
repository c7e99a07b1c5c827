"""``.npz`` files of ours (a learned projection, colour directions) judged before they are read.

A hostile or broken file must cost nothing: its zip directory and each member's ``.npy`` header
are read first (dtype, shape, the size the zip records, a byte budget), and only then are the
values loaded, without pickles (:class:`CheckedNpz`)."""

from __future__ import annotations

import math
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from shirtsim.errors import ShirtsimError

NPZ_DIRECTORY_BYTES = 256 * 1024  # an archive's table of contents (~100 bytes a member)
NPY_HEADER_BYTES = 4096  # numpy writes 128 bytes; its own reader allows 10,000
TEXT_CHARS = 1024  # longest text value (a name, a label) a file of ours may hold
_END_RECORD = struct.Struct("<4s4H2LH")  # a zip's end of central directory record, without comment
_KINDS = {"f": "floats", "u": "unsigned integers", "U": "text"}


# What zipfile, zlib and numpy raise for an archive or a member that is not what it claims.
_UNREADABLE = (
    OSError,
    ValueError,
    TypeError,
    OverflowError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    struct.error,
)


def size_text(n: int) -> str:
    """Bytes for people: ``64 MB``, ``3.9 TB``."""
    for unit, shift in (("TB", 40), ("GB", 30), ("MB", 20), ("KB", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            return f"{value:,.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{n:,} bytes"


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int  # the values' size, from shape and dtype


class CheckedNpz:
    """An .npz archive of plain arrays whose members are judged by their .npy headers before any
    value is read, so a hostile or broken file costs a few kilobytes to refuse.

    Opening checks the archive (written by numpy: no comment, no zip64, a small table of contents;
    stored or deflated members only: bzip2 and LZMA inflate without bound) and each member's header:
    plain numbers or text (never Python objects, which loading would unpickle), exactly the size the
    zip records (so a compressed member cannot inflate past what its header claims), and all values
    together within ``budget`` bytes. :meth:`require` checks members against what a format needs,
    :meth:`load` reads one. Everything wrong is one ``error`` line naming the file; only a missing
    file is FileNotFoundError, for the caller to say."""

    def __init__(self, source: Path | BinaryIO, name: str, what: str, error: type[ShirtsimError], budget: int) -> None:
        self.name, self.what, self.error, self.budget = name, what, error, budget
        self.bound: dict[str, int] = {}  # lengths named in require() shapes
        self.values = 0  # bytes of all members' values, as their headers declare
        try:
            self._file = open(source, "rb") if isinstance(source, Path) else source  # closed by close()
        except OSError as e:
            if isinstance(e, FileNotFoundError):
                raise
            raise error(f"{name}: cannot be read ({e.strerror or type(e).__name__}).") from None
        self._own_file = isinstance(source, Path)
        self._zip: zipfile.ZipFile | None = None
        try:
            self._zip = self._open_archive()
            self._infos: dict[str, zipfile.ZipInfo] = {}
            self.members: dict[str, NpyHeader] = {}
            for info in self._zip.infolist():
                self._read_header(info)
        except ShirtsimError:
            self.close()
            raise
        except _UNREADABLE as e:
            self.close()
            raise self.unusable(str(e)[:80] or type(e).__name__) from None

    def unusable(self, why: str) -> ShirtsimError:
        return self.error(f"{self.name}: not a {self.what} ({why}).")

    def damaged(self, why: str) -> ShirtsimError:
        return self.error(f"{self.name}: a damaged {self.what} ({why}).")

    def _open_archive(self) -> zipfile.ZipFile:
        f = self._file
        size = f.seek(0, 2)
        if size > self.budget:
            raise self.error(f"{self.name}: too large for a {self.what} (over {size_text(self.budget)}).")
        f.seek(0)
        if f.read(4) != b"PK\x03\x04":  # np.load would try anything else as a pickle
            raise self.unusable("not an .npz archive")
        # The end record must close the file (numpy writes no comment): then zipfile reads this
        # record and no other, and its table of contents is known to be small before it is parsed.
        f.seek(max(0, size - _END_RECORD.size - 20))
        tail = f.read()
        end = _END_RECORD.unpack(tail[-_END_RECORD.size :]) if len(tail) >= _END_RECORD.size else None
        if end is None or end[0] != b"PK\x05\x06" or end[-1] != 0:
            raise self.unusable("no zip end record at the end of the file: truncated?")
        if tail.startswith(b"PK\x06\x07"):
            raise self.unusable("a zip64 archive, which numpy writes only for gigabytes")
        if end[5] > NPZ_DIRECTORY_BYTES:
            raise self.unusable(f"a table of contents of {size_text(end[5])}: far too many members")
        f.seek(0)
        return zipfile.ZipFile(f)

    def _read_header(self, info: zipfile.ZipInfo) -> None:
        member = info.filename.removesuffix(".npy")
        shown = info.filename[:60]
        if not info.filename.endswith(".npy"):
            raise self.unusable(f"member {shown!r} is not an array")
        if member in self._infos:
            raise self.unusable(f"member {shown} is there twice")
        if info.flag_bits & 1:
            raise self.unusable(f"member {shown} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self.unusable(f"member {shown} is compressed in a way numpy never writes")
        assert self._zip is not None
        try:
            with self._zip.open(info) as f:
                version = np.lib.format.read_magic(f)
                read_header = {
                    (1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0,
                }.get(version)
                if read_header is None:
                    raise ValueError(f".npy version {version}")
                shape, _, dtype = read_header(f, max_header_size=NPY_HEADER_BYTES)
                offset = f.tell()
        except _UNREADABLE as e:
            raise self.unusable(f"member {shown}: {str(e)[:80] or type(e).__name__}") from None
        if dtype.hasobject:
            raise self.unusable(f"member {shown} holds Python objects, which are never loaded")
        if dtype.names is not None or dtype.subdtype is not None or dtype.kind not in "biufU":
            raise self.unusable(f"member {shown} holds {str(dtype)[:40]} values")
        if any(n < 0 for n in shape):
            raise self.unusable(f"member {shown} has shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize  # Python integers: a claim of 10**30 stays that
        total = self.values + nbytes
        if total > self.budget:
            what = f"{' x '.join(f'{n:,}' for n in shape) or 'one'} {dtype} values" if nbytes > self.budget else ""
            raise self.error(
                f"{self.name}: too large for a {self.what} (member {shown} "
                + (f"claims {what}: {size_text(nbytes)}" if what else f"brings the values to {size_text(total)}")
                + f"; at most {size_text(self.budget)})."
            )
        if info.file_size != offset + nbytes:
            raise self.unusable(
                f"member {shown} declares {nbytes:,} bytes of values, the archive holds {info.file_size - offset:,}"
            )
        self._infos[member] = info
        self.members[member] = NpyHeader(tuple(shape), dtype, nbytes)
        self.values = total

    def require(self, member: str, kinds: str, shape: tuple[int | str | None, ...], optional: bool = False) -> bool:
        """Check ``member``'s header: values of a kind in ``kinds`` (``f`` float32 or float64, ``u``,
        ``U`` text of at most :data:`TEXT_CHARS` characters) and ``shape``, where None is any length and
        a name is a length that must be the same wherever it is used. False: an optional member is absent."""
        header = self.members.get(member)
        if header is None:
            if optional:
                return False
            raise self.damaged(f"no member {member}")
        kind, size = header.dtype.kind, header.dtype.itemsize
        if kind not in kinds or (kind == "f" and size not in (4, 8)):
            raise self.damaged(f"{member} holds {header.dtype} values, not {' or '.join(_KINDS[k] for k in kinds)}")
        if kind == "U" and size > 4 * TEXT_CHARS:
            raise self.damaged(f"{member} holds text of {size // 4:,} characters, over {TEXT_CHARS:,}")
        expected = tuple(self.bound.get(d, d) if isinstance(d, str) else d for d in shape)
        if len(header.shape) != len(shape) or any(
            isinstance(e, int) and e != n for e, n in zip(expected, header.shape)
        ):
            shown = ", ".join("any" if e is None else str(e) for e in expected) + ("," if len(expected) == 1 else "")
            raise self.damaged(f"{member} has shape {header.shape}, expected ({shown})")
        for d, n in zip(shape, header.shape):
            if isinstance(d, str):
                self.bound.setdefault(d, n)
        return True

    def load(self, member: str) -> np.ndarray:
        """One member's array (its header already checked when the archive was opened)."""
        assert self._zip is not None
        try:
            with self._zip.open(self._infos[member]) as f:
                return np.lib.format.read_array(f, allow_pickle=False, max_header_size=NPY_HEADER_BYTES)
        except _UNREADABLE as e:
            raise self.unusable(f"{member}: {str(e)[:80] or type(e).__name__}") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._own_file:
            self._file.close()

    def __enter__(self) -> CheckedNpz:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
