"""The one shape of progress report every long step uses (indexing, downloads)."""

from __future__ import annotations

from collections.abc import Callable

# (done, total, what): ``total`` 0 when it is not known yet; ``what`` names the step for the user.
ProgressFn = Callable[[int, int, str], None]
