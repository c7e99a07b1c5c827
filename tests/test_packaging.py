"""The package's metadata: one dependency list, a ``shirtsim`` command, dev extras that match."""

import subprocess
import sys
import tomllib

from helpers import ROOT


def requirement_lines(path):
    return [
        line.split("#")[0].strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.split("#")[0].strip() and not line.startswith("-r")
    ]


def test_dev_extras_equal_requirements_dev():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["optional-dependencies"]["dev"] == requirement_lines(ROOT / "requirements-dev.txt")
    # runtime dependencies are read from requirements.txt itself: one list, nothing to keep in step
    assert "dependencies" in project["dynamic"]


def test_requirements_dev_includes_the_runtime_list():
    assert (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()[0] == "-r requirements.txt"


def test_the_console_script_is_the_cli():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"] == {"shirtsim": "shirtsim.cli.main:main"}
    out = subprocess.run([sys.executable, "-m", "shirtsim", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.startswith("usage: shirtsim")
