"""Exceptions with messages written for the person using shirtsim.

Library code raises these; the CLI and the app translate them at the edge into one line
(exit status 2) or an ``st.error``, never a traceback.
"""


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
