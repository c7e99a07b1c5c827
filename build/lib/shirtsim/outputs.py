"""Files and folders a command writes for the user: never over existing work unless asked.

A command that writes (``make-demo-catalog``, ``download-seed-shirts``, ``fit-*``, ``export``)
refuses an existing file or a non-empty folder with one line that names ``--force``, and writes
a file atomically (a temporary file renamed into place), so an interrupted run never leaves half a
file under the real name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
