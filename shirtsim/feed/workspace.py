"""A catalog's merchandising files, beside each other in the user's data folder (never the cache):
the curation (:mod:`shirtsim.feed.curation`) and the rules' defaults (a small JSON file the page's
Curation page writes and every visitor's results follow).

The page asks for both on every run: each is read again only when its file changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from shirtsim.feed import curation as curation_file
from shirtsim.feed.curation import Curation, CurationError, default_curation_path
from shirtsim.feed.rules import Rules
from shirtsim.outputs import write_atomically
from shirtsim.text import printable


class HasIds(Protocol):
    """A catalog, for its ids."""

    ids: list[str]


MAX_RULES_BYTES = 64 * 1024  # a rules file is a few lines: anything larger is not ours


class Workspace:
    """The curation and the rules' defaults of the catalog at ``root``."""

    def __init__(self, root: Path, curation_path: Path | None = None) -> None:
        self.curation_path = Path(curation_path) if curation_path else default_curation_path(root)
        self.rules_path = self.curation_path.with_suffix(".rules.json")
        self._read: dict[Path, tuple[tuple, object]] = {}

    def curation(self, catalog: HasIds) -> Curation:
        """The curation as its file is now (an empty one before the first edit), checked against
        ``catalog``'s ids (read again for another catalog object: a re-index makes a new one)."""
        load = lambda: curation_file.load_curation(self.curation_path, set(catalog.ids))  # noqa: E731
        return self._cached(self.curation_path, load, id(catalog))

    def default_rules(self) -> tuple[Rules, str | None]:
        """The rules every list follows unless a visitor changes them, and a problem with the
        file (it is then ignored) or None."""
        return self._cached(self.rules_path, self._load_rules)

    def save_default_rules(self, rules: Rules) -> None:
        data = {
            "filter": {c: list(v) for c, v in rules.filters.items()},
            "same": list(rules.same),
            "one_per": list(rules.one_per),
            "near": dict(rules.near),
        }
        write_atomically(self.rules_path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode())

    def pin(self, query_id: str, target_id: str, position: int) -> None:
        curation_file.pin(self.curation_path, query_id, target_id, position)

    def block(self, query_id: str, target_id: str) -> None:
        curation_file.block(self.curation_path, query_id, target_id)

    def remove(self, query_id: str, action: str, target_id: str) -> None:
        curation_file.remove(self.curation_path, query_id, action, target_id)

    def replace(self, text: str, catalog: HasIds) -> Curation:
        return curation_file.replace_all(self.curation_path, text, set(catalog.ids))

    def curation_csv(self) -> bytes:
        """The curation file's bytes as they are (its header alone before the first edit)."""
        try:
            return self.curation_path.read_bytes()
        except FileNotFoundError:
            return (",".join(curation_file.HEADER) + "\n").encode()

    def _load_rules(self) -> tuple[Rules, str | None]:
        name = printable(self.rules_path.name)
        try:
            if self.rules_path.stat().st_size > MAX_RULES_BYTES:
                return Rules(), f"{name}: larger than a rules file can be; the default rules are not used."
            data = json.loads(self.rules_path.read_text(encoding="utf-8"))
            rules = Rules(
                {str(c): tuple(str(v) for v in values) for c, values in dict(data.get("filter", {})).items()},
                tuple(str(c) for c in data.get("same", [])),
                tuple(str(c) for c in data.get("one_per", [])),
                {str(c): float(p) for c, p in dict(data.get("near", {})).items()},
            )
        except FileNotFoundError:
            return Rules(), None
        except (OSError, ValueError, TypeError, AttributeError) as e:
            return Rules(), f"{name}: not a rules file ({printable(str(e))[:200]}); the default rules are not used."
        return rules, None

    def _cached(self, path: Path, load, *also: object):  # noqa: ANN001, ANN202 (either file's reader and result)
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size, *also)
        except FileNotFoundError:
            stamp = (0, -1, *also)
        except OSError as e:
            raise CurationError(f"{printable(path.name)}: cannot read it ({e}).") from None
        found = self._read.get(path)
        if found is None or found[0] != stamp:
            found = (stamp, load())
            self._read[path] = found
        return found[1]
