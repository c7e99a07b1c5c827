"""shirtsim.feed.exports: the Curation page's exports, a background job each, written to disk."""

from __future__ import annotations

import os
import threading
import time

import pytest
from helpers import LABELS, circle

from shirtsim.describe.descriptors import MODES
from shirtsim.errors import ShirtsimError
from shirtsim.feed import exports
from shirtsim.feed.export import export
from shirtsim.feed.exports import KEEP_S, Exports
from shirtsim.feed.lists import ListMaker


def maker() -> ListMaker:
    return ListMaker(circle(), LABELS, MODES["seed"], 2, None, None)


def test_an_export_is_the_export_commands_file_on_disk(tmp_path):
    made = Exports(tmp_path / "exports").make(maker(), "csv", "seed, 2, no rules")
    export(maker(), "csv", tmp_path / "direct.csv")
    assert made.path.parent == tmp_path / "exports" and made.path.suffix == ".csv"
    assert made.read() == (tmp_path / "direct.csv").read_bytes()
    assert (made.products, made.short) == (8, 0)
    again = Exports(tmp_path / "exports").make(maker(), "csv", "seed, 2, no rules")
    other = Exports(tmp_path / "exports").make(maker(), "jsonl", "seed, 2, no rules")
    assert again.path == made.path and other.path != made.path  # one file per settings and format


def test_two_editors_asking_at_once_share_one_job(tmp_path, monkeypatch):
    calls = []

    def slow_export(*args):
        calls.append(args[1])
        time.sleep(0.3)
        return export(*args)

    monkeypatch.setattr(exports, "export", slow_export)
    shared, one_maker, got = Exports(tmp_path), maker(), []
    threads = [
        threading.Thread(target=lambda: got.append(shared.make(one_maker, "jsonl", "same settings"))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["jsonl"] and len(got) == 2 and got[0] == got[1]


def test_old_export_files_go_when_a_new_one_is_made(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    old, recent = folder / "similar-old.csv", folder / "similar-recent.csv"
    old.write_text("x")
    recent.write_text("x")
    os.utime(old, (time.time() - KEEP_S - 60,) * 2)
    Exports(folder).make(maker(), "csv", "any")
    assert not old.exists() and recent.exists()


def test_an_unwritable_folder_is_said_in_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ShirtsimError, match=r"^Cannot write the export in .*a-file/exports: "):
        Exports(blocker / "exports").make(maker(), "csv", "any")


def test_two_catalogs_sharing_a_cache_write_their_exports_apart(tmp_path, small_catalog):
    from helpers import DEMO

    from shirtsim.engine import Engine

    cache = tmp_path / "cache"
    folders = {Engine(root, cache_dir=cache, index_backend="memory").exports.folder for root in (DEMO, small_catalog)}
    assert len(folders) == 2 and all(f.parent == cache / "exports" for f in folders)
