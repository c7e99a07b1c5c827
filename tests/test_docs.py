"""The docs: the generated pages are what tools/write_docs.py writes now, every relative link in the
README and docs/ leads somewhere, and the README keeps its two commands exactly."""

import importlib.util
import re

from helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMANDS = (
    "pip install -r requirements.txt && streamlit run app.py",  # the app, on the demo catalog, offline
    "pip install -r requirements-dev.txt && python -m pytest",  # the tests: CI runs exactly this line
)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
URL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def write_docs():
    spec = importlib.util.spec_from_file_location("write_docs", ROOT / "tools" / "write_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def anchors(page) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_generated_pages_are_current():
    stale = [
        str(path.relative_to(ROOT))
        for path, text in write_docs().pages().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], "run: python tools/write_docs.py"


def test_the_cli_page_has_every_command():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    module = write_docs()
    for name in module.commands(module.parser()):
        assert f"## shirtsim {name}\n" in text and f"usage: shirtsim {name} " in text


def test_every_relative_link_leads_to_a_file_and_heading_that_exist():
    broken = []
    for page in PAGES:
        for target in LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
            if URL.match(target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_the_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"^```bash\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert first_block and text.index(first_block.group(0)) < text.index("\n## ")
    lines = [line.split("  #")[0].rstrip() for line in first_block.group(1).splitlines()]
    assert lines == list(COMMANDS)


def test_ci_runs_the_readmes_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert COMMANDS[1] in ci
