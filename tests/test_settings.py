"""Settings live in one module, and the table in docs/settings.md is generated from it."""

import re

from helpers import ROOT

from shirtsim import settings


def test_docs_settings_table_is_the_modules_table():
    assert settings.markdown_table() in (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")


def test_no_other_code_reads_a_shirtsim_variable():
    sources = [*sorted((ROOT / "shirtsim").rglob("*.py")), ROOT / "app.py"]  # the subpackages too
    readers = [
        f"{p.name}: {line.strip()}"
        for p in sources
        if p.name != "settings.py"
        for line in p.read_text(encoding="utf-8").splitlines()
        if re.search(r"environ[^\n]*SHIRTSIM_", line)
    ]
    assert readers == []


def test_every_variable_named_in_the_code_is_a_setting():
    named = set()
    for p in [*(ROOT / "shirtsim").rglob("*.py"), ROOT / "app.py", *(ROOT / "tests").rglob("*.py")]:
        named |= set(re.findall(r"\bSHIRTSIM_[A-Z0-9_]+", p.read_text(encoding="utf-8")))
    assert named == {s.name for s in settings.ALL}


def test_blank_values_fall_back_to_the_default(monkeypatch):
    monkeypatch.setenv("SHIRTSIM_INDEX", "  ")
    assert settings.INDEX.get() == "memory" and not settings.INDEX.is_set()
    monkeypatch.setenv("SHIRTSIM_INDEX", " milvus:x.db ")
    assert settings.INDEX.get() == "milvus:x.db" and settings.INDEX.is_set()
