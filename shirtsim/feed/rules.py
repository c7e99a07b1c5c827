"""A store's rules for its similar lists, applied to the results, never to the query.

- ``filter``: results whose label in COLUMN is one of the values (values of one column OR-ed,
  different columns AND-ed);
- ``same``: results that share the query's value in COLUMN (same category); a query without a
  value there is not limited by it;
- ``one_per``: at most one result per value of COLUMN, and none with the query's own value (the
  variants of the same product); an empty value counts as distinct from every other;
- ``near``: results whose number in COLUMN (a price) is within +-PCT% of the query's; results
  without a number are left out, a query without one is not limited.

A list may come out shorter than asked when the rules leave fewer candidates; it is never padded
with results that break a rule.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from shirtsim.catalog.labels import Labels
from shirtsim.errors import ShirtsimError

_NUMBER = re.compile(r"([-+]?)(\d[\d.,]*\d|\d|[.,]\d+)([eE][-+]?\d+)?")


class RulesError(ShirtsimError):
    """A rule that cannot be applied: an unknown column, a percentage that is not a number."""


@dataclass(frozen=True)
class Rules:
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    same: tuple[str, ...] = ()
    one_per: tuple[str, ...] = ()
    near: Mapping[str, float] = field(default_factory=dict)  # column -> percent

    def __bool__(self) -> bool:
        return bool(self.filters or self.same or self.one_per or self.near)

    @property
    def columns(self) -> set[str]:
        return set(self.filters) | set(self.same) | set(self.one_per) | set(self.near)

    def check(self, labels: Labels | None) -> None:
        """:class:`RulesError` for a column the catalog's labels.csv does not have."""
        known = set(labels.columns) if labels is not None else set()
        has = f"; labels.csv has {_listed(labels.columns)}." if known else " (the catalog has no labels.csv)."
        flags = {"--filter": self.filters, "--same": self.same, "--one-per": self.one_per, "--near": self.near}
        for flag, columns in flags.items():
            for column in columns:
                if column not in known:
                    has = (
                        f"; labels.csv has {_listed(labels.columns)}." if known else " (the catalog has no labels.csv)."
                    )
                    raise RulesError(f"{flag}: no label column {column[:60]!r}{has}")

    @staticmethod
    def with_filters(rules: Rules | None, filters: Mapping[str, Iterable[str]] | None) -> Rules | None:
        """``rules`` with ``filters`` (the older way to ask for the filter rule alone) added."""
        if not filters:
            return rules
        base = rules or Rules()
        merged = {**base.filters, **{c: tuple(v) for c, v in filters.items()}}
        return Rules(merged, base.same, base.one_per, base.near)

    def describe(self) -> str:
        """The rules as flags, for notes: ``--same category --near price=10``."""
        parts = [f"--filter {c}={v}" for c, values in sorted(self.filters.items()) for v in values]
        parts += [f"--same {c}" for c in self.same] + [f"--one-per {c}" for c in self.one_per]
        parts += [f"--near {c}={p:g}" for c, p in sorted(self.near.items())]
        return " ".join(parts)


def parse_rules(
    filters: Iterable[str] = (), same: Iterable[str] = (), one_per: Iterable[str] = (), near: Iterable[str] = ()
) -> Rules:
    """Rules from the CLI's flags (``COLUMN=VALUE``, ``COLUMN``, ``COLUMN``, ``COLUMN=PCT``)."""
    chosen: dict[str, list[str]] = {}
    for pair in filters:
        column, sep, value = pair.partition("=")
        if not sep:
            raise RulesError(f"--filter {pair[:60]!r}: write COLUMN=VALUE.")
        chosen.setdefault(column, []).append(value)
    ranges: dict[str, float] = {}
    for pair in near:
        column, sep, text = pair.partition("=")
        try:
            percent = float(text)
        except ValueError:
            percent = math.nan
        if not sep or not math.isfinite(percent) or percent < 0:
            raise RulesError(f"--near {pair[:60]!r}: write COLUMN=PCT, a percentage such as price=10.")
        ranges[column] = percent
    return Rules(
        {c: tuple(v) for c, v in chosen.items()},
        tuple(dict.fromkeys(same)),
        tuple(dict.fromkeys(one_per)),
        ranges,
    )


def number(text: str) -> float | None:
    """The number a label holds (``19.99``, ``19,99``, ``EUR 19.99``, ``1,299.00``, ``1.299,00``),
    or None. Of ``,`` and ``.`` the last is the decimal mark, unless it groups thousands: it comes
    more than once, or it is the only comma and three digits follow (``1,299`` is 1299; a lone dot,
    ``1.299``, is a decimal point)."""
    found = _NUMBER.search(text or "")
    if found is None:
        return None
    sign, digits, exponent = found.group(1), found.group(2), found.group(3) or ""
    try:
        value = float(sign + _plain_digits(digits) + exponent)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _plain_digits(digits: str) -> str:
    """``digits`` with its thousands separators dropped and a ``.`` for its decimal mark."""
    last = max(digits.rfind(","), digits.rfind("."))
    if last < 0:
        return digits
    mark = digits[last]
    grouping = digits.count(mark) > 1 or (mark == "," and "." not in digits and len(digits) - last == 4)
    whole = digits.replace(",", "").replace(".", "")
    if grouping:
        return whole
    return digits[:last].replace(",", "").replace(".", "") + "." + digits[last + 1 :]


def numeric_columns(labels: Labels, sample: int = 50) -> list[str]:
    """The columns ``near`` can use: most of their values in the first ``sample`` rows are numbers
    (worked out once per labels: a wide feed has thousands of columns)."""
    if labels not in _NUMERIC:
        rows = [labels.row(i) for i in labels.ids[:sample]]  # each record parsed once
        found = []
        for column in labels.columns:
            values = [v for row in rows if (v := row.get(column))]
            if values and sum(number(v) is not None for v in values) >= 0.8 * len(values):
                found.append(column)
        _NUMERIC[labels] = found
    return _NUMERIC[labels]


_NUMERIC: weakref.WeakKeyDictionary[Labels, list[str]] = weakref.WeakKeyDictionary()


class RuleColumns:
    """The columns the rules read, for every shirt of an index, read once (a wide feed's columns
    are parsed from its records: :class:`shirtsim.catalog.labels.Labels`)."""

    def __init__(self, rules: Rules, labels: Labels | None, ids: list[str]) -> None:
        rules.check(labels)
        self.rules, self.ids = rules, ids
        self.values = {c: np.array(labels.column(c, ids), dtype=object) for c in rules.columns} if labels else {}
        self.numbers = {
            c: np.array([math.nan if (n := number(v)) is None else n for v in self.values[c]], float)
            for c in rules.near
        }
        self._filter_mask: np.ndarray | None = None

    def query_values(self, labels: Labels | None, query_id: str | None) -> dict[str, str]:
        """A query's own values in the rules' columns ({} for a photo from outside)."""
        if labels is None or query_id is None:
            return {}
        return {c: labels.value(query_id, c) for c in self.rules.columns}

    def mask(self, query: Mapping[str, str]) -> np.ndarray | None:
        """Which shirts a result may be, for a query with these values: the filters, ``same`` and
        ``near`` (``one_per`` depends on the other results: :func:`one_per_pass`). None: all."""
        rules, keep = self.rules, self._filters()
        for column in rules.same:
            if query.get(column):
                keep = _and(keep, self.values[column] == query[column])
        for column, percent in rules.near.items():
            centre = number(query.get(column, ""))
            if centre is not None:
                width = abs(centre) * percent / 100.0
                found = self.numbers[column]
                keep = _and(keep, np.abs(found - centre) <= width + 1e-9 * max(1.0, abs(centre)))
        return keep

    def _filters(self) -> np.ndarray | None:
        if not self.rules.filters:
            return None
        if self._filter_mask is None:
            keep = np.ones(len(self.ids), bool)
            for column, values in self.rules.filters.items():
                wanted = set(values) - {""}
                keep &= np.fromiter((v in wanted for v in self.values[column]), bool, len(self.ids))
            self._filter_mask = keep
        return self._filter_mask

    def one_per_pass(self, query: Mapping[str, str], rows: Iterable[int]) -> list[int]:
        """``rows`` (best first) with at most one per value of each ``one_per`` column, and none
        sharing the query's own value there; empty values are all distinct."""
        columns = self.rules.one_per
        if not columns:
            return list(rows)
        seen = {c: {query[c]} if query.get(c) else set() for c in columns}
        out = []
        for row in rows:
            values = {c: self.values[c][row] for c in columns}
            if any(v and v in seen[c] for c, v in values.items()):
                continue
            for c, v in values.items():
                if v:
                    seen[c].add(v)
            out.append(row)
        return out


def _and(a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
    return b if a is None else a & b


def _listed(names: list[str], most: int = 12) -> str:
    shown = ", ".join(repr(n[:40]) for n in names[:most])
    return shown + (f" and {len(names) - most:,} more" if len(names) > most else "")
