"""Bounded HTTP downloads (model weights, the seed notebook's shirts) and safe zip unpacking."""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from shirtsim.errors import DownloadError
from shirtsim.progress import ProgressFn

SEED_SHIRTS_URL = "https://raw.githubusercontent.com/sparsh-ai/rec-data-public/master/shirts.zip"
CHUNK = 1 << 16


def download(
    url: str,
    dest: str | Path,
    *,
    timeout: float = 10.0,
    max_bytes: int = 500 * 1024 * 1024,
    md5: str | None = None,
    progress: ProgressFn | None = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically; raise :class:`DownloadError` on any failure.

    ``timeout`` bounds connecting and each read; the whole transfer is also bounded so a
    trickling server cannot hang the caller. Nothing is left at ``dest`` unless it succeeded.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _resolve_host(url, timeout)
    deadline = time.monotonic() + max(60.0, timeout * 30)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
    digest = hashlib.md5()
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)
            except urllib.error.HTTPError as e:
                raise DownloadError(f"Cannot download {url}: the server answered {e.code} {e.reason}.") from None
            except (urllib.error.URLError, OSError, ValueError) as e:
                reason = getattr(e, "reason", e)
                raise DownloadError(f"Cannot download {url}: {reason}. Are you offline?") from None
            with response:
                total = response.headers.get("Content-Length")
                total = int(total) if total and total.isdigit() else None
                if total is not None and total > max_bytes:
                    raise DownloadError(f"Refusing {url}: {total} bytes is over the {max_bytes} byte limit.")
                done = 0
                while True:
                    if time.monotonic() > deadline:
                        raise DownloadError(f"Download of {url} took too long; try again later.")
                    try:
                        chunk = response.read(CHUNK)
                    except (OSError, urllib.error.URLError) as e:
                        raise DownloadError(f"Download of {url} failed: {e}.") from None
                    if not chunk:
                        break
                    done += len(chunk)
                    if done > max_bytes:
                        raise DownloadError(f"Refusing {url}: more than {max_bytes} bytes.")
                    digest.update(chunk)
                    out.write(chunk)
                    if progress:
                        progress(done, total or 0, "downloading")
                if total is not None and done != total:
                    raise DownloadError(f"Download of {url} was cut short ({done} of {total} bytes).")
        if md5 and digest.hexdigest() != md5:
            raise DownloadError(f"Download of {url} is damaged (checksum mismatch).")
        os.replace(tmp, dest)
        return dest
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _resolve_host(url: str, timeout: float) -> None:
    """Look the host up with a deadline: urllib's timeout does not cover DNS, which can hang
    for a long time on a machine without network."""
    host = urllib.parse.urlsplit(url).hostname
    if not host:
        raise DownloadError(f"Cannot download {url}: not a valid URL.")
    result: list = []
    worker = threading.Thread(target=lambda: result.append(_try_getaddrinfo(host)), daemon=True)
    worker.start()
    worker.join(timeout)
    if not result or isinstance(result[0], Exception):
        raise DownloadError(f"Cannot download {url}: cannot find host {host}. Are you offline?")


def _try_getaddrinfo(host: str) -> list | None:
    try:
        return socket.getaddrinfo(host, None)
    except OSError as e:
        return e


def safe_extract(
    zip_path: str | Path, dest: str | Path, *, max_total: int = 2 * 1024**3, max_files: int = 100_000
) -> list[Path]:
    """Unpack ``zip_path`` into ``dest``, refusing path traversal, links and zip bombs."""
    dest = Path(dest).resolve()
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DownloadError(f"{Path(zip_path).name} is not a valid zip file ({e}).") from None
    with archive:
        members = archive.infolist()
        if len(members) > max_files:
            raise DownloadError(f"Zip has {len(members)} entries, more than the {max_files} allowed.")
        if sum(m.file_size for m in members) > max_total:
            raise DownloadError("Zip unpacks to more than the size limit; refused.")
        written = []
        for m in members:
            target = (dest / m.filename).resolve()
            if dest != target and dest not in target.parents:
                raise DownloadError(f"Zip entry {m.filename!r} points outside the target folder; refused.")
            if (m.external_attr >> 16) & 0o170000 == 0o120000:
                raise DownloadError(f"Zip entry {m.filename!r} is a symbolic link; refused.")
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(m) as src, open(target, "wb") as out:
                remaining = m.file_size + 1
                while chunk := src.read(min(CHUNK, remaining)):
                    remaining -= len(chunk)
                    if remaining <= 0:
                        raise DownloadError(f"Zip entry {m.filename!r} is larger than it claims; refused.")
                    out.write(chunk)
            written.append(target)
    return written


def download_seed_shirts(
    dest: str | Path, url: str = SEED_SHIRTS_URL, *, timeout: float = 10.0, progress: ProgressFn | None = None
) -> list[Path]:
    """Fetch the seed notebook's ``shirts.zip`` and unpack its images into ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = download(url, Path(tmp) / "shirts.zip", timeout=timeout, progress=progress)
        return safe_extract(archive, dest)
