"""Exceptions with messages written for the person using shirtsim, and what to say about an
operating-system failure.

Library code raises these; the CLI and the app translate them at the edge into one line
(exit status 2) or an ``st.error``, never a traceback.
"""

import errno

# What happened and what to do about each operating-system failure, as the CLI and the page say it.
OS_ERRORS = {
    errno.ENOSPC: ("the disk is full", "Free some space and run it again (the cache holds no half-written file)"),
    errno.EDQUOT: (
        "the disk quota is used up",
        "Free some space and run it again (the cache holds no half-written file)",
    ),
    errno.EROFS: ("the file system is read-only", "Point SHIRTSIM_CACHE_DIR at a writable folder"),
    errno.EACCES: ("permission denied", "Check the owner and permissions, or point SHIRTSIM_CACHE_DIR elsewhere"),
    errno.EPERM: ("operation not permitted", "Check the owner and permissions, or point SHIRTSIM_CACHE_DIR elsewhere"),
    errno.ENAMETOOLONG: ("a file or folder name is too long", "Shorten it"),
    errno.ENOTDIR: ("part of that path is a file, not a folder", "Fix the path"),
    errno.EISDIR: ("that is a folder, not a file", "Fix the path"),
    errno.ENOENT: ("no such file or folder", "Check the path"),
}


def os_error_reason(e: OSError) -> str:
    """What happened, in a few words ("the disk is full")."""
    known = OS_ERRORS.get(e.errno)
    return known[0] if known else str(e.strerror or e)


def os_error_advice(e: OSError) -> str:
    """What to do about it, one sentence without its full stop ("" when there is nothing to add)."""
    known = OS_ERRORS.get(e.errno)
    return known[1] if known else ""


class ShirtsimError(Exception):
    """Base class: ``str(err)`` is a complete, user-facing sentence."""


class BadImageError(ShirtsimError):
    """An upload, query file or catalog file that is not a usable image."""


class UnknownShirtError(ShirtsimError):
    """A shirt id that is not in the catalog."""


class CatalogError(ShirtsimError):
    """A catalog folder or labels file that cannot be used."""


class WeightsError(ShirtsimError):
    """Model weights that cannot be found, downloaded or loaded."""


class DownloadError(ShirtsimError):
    """A download that failed, timed out or delivered something unsafe."""


class RemovalRefused(ShirtsimError):
    """A re-index that would remove more of the indexed shirts than a person has agreed to
    (:mod:`shirtsim.index.removals`): nothing was removed. The edges add how to confirm it there."""

    def __init__(self, removed: int, indexed: int, limit_percent: float, where: str) -> None:
        self.removed, self.indexed, self.limit_percent, self.where = removed, indexed, limit_percent, where
        super().__init__(
            f"{removed:,} of the {indexed:,} indexed shirts are no longer in {where} (more than "
            f"{limit_percent:g}%): nothing was removed. Check the folder (a network share that is not mounted? "
            "a wrong path?)."
        )
