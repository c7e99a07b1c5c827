"""Files and folders a command writes for the user: never over existing work unless asked.

A command that writes (``make-demo-catalog``, ``download-seed-shirts``, ``fit-*``, ``export``)
refuses an existing file or a non-empty folder with one line that names ``--force``, and writes
a file atomically (a temporary file renamed into place), so an interrupted run never leaves half a
file under the real name.
"""

from __future__ import annotations

import functools
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from shirtsim.errors import ShirtsimError
from shirtsim.text import printable


def refuse_to_replace(path: Path, force: bool, what: str = "") -> None:
    """:class:`ShirtsimError` when ``path`` exists and ``force`` is not given."""
    if not force and (path.exists() or path.is_symlink()):
        about = f" ({what})" if what else ""
        raise ShirtsimError(f"{printable(str(path))} exists{about}: pass --force to replace it.")


def refuse_to_fill(folder: Path, force: bool) -> None:
    """:class:`ShirtsimError` when ``folder`` holds anything and ``force`` is not given."""
    if force or not folder.exists():
        return
    if not folder.is_dir():
        raise ShirtsimError(f"{printable(str(folder))} is a file, not a folder.")
    if any(folder.iterdir()):
        raise ShirtsimError(
            f"{printable(str(folder))} is not empty: pass --force to write into it "
            "(files of the same name are replaced)."
        )


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, renamed into place."""
    with atomic_file(path, "wb") as f:
        f.write(data)


@contextmanager
def atomic_file(path: Path, mode: str = "wb", **open_args: str) -> Iterator[IO]:
    """A file to write ``path``'s new content to: a temporary file beside it, renamed onto it when
    the block ends, removed if it fails. It keeps the permissions of the file it replaces, or gets
    what any new file gets (0666 less the umask): mkstemp's private 0600 would lock out a web
    server or an app run by another user."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        permissions = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        permissions = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".part")
    try:
        with os.fdopen(fd, mode, **open_args) as f:
            os.fchmod(f.fileno(), permissions)
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """This process's umask (read once: ``os.umask`` can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
