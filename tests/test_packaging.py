"""The package's metadata: one dependency list, a ``shirtsim`` command, dev extras that match."""

import json
import os
import subprocess
import sys
import time
import tomllib
import urllib.request
from types import SimpleNamespace

import pytest
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


def test_every_code_folder_is_a_listed_package():
    # the package list is explicit (assets/ is mapped in), so a new subpackage must be added by hand
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "shirtsim").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert folders - listed == set()


def test_the_console_script_is_the_cli():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"] == {"shirtsim": "shirtsim.cli.main:main"}
    out = subprocess.run([sys.executable, "-m", "shirtsim", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.startswith("usage: shirtsim")


def test_the_packaged_streamlit_settings_are_the_checkouts():
    """``shirtsim app`` passes shirtsim/web/config.toml to Streamlit; ``streamlit run app.py`` in a
    checkout reads .streamlit/config.toml: one set of settings, two places it must be found."""
    assert (ROOT / "shirtsim" / "web" / "config.toml").read_text() == (ROOT / ".streamlit" / "config.toml").read_text()
    from shirtsim.cli.app import streamlit_command

    command = streamlit_command(8765, "127.0.0.1")
    assert command[1:5] == ["-m", "streamlit", "run", str(ROOT / "shirtsim" / "web" / "app.py")]
    assert "--server.maxUploadSize=20" in command and "--runner.postScriptGC=false" in command
    assert command[-2:] == ["--server.port=8765", "--server.address=127.0.0.1"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from this checkout, installed (without its dependencies, which this
    environment has) into a folder of its own: what a user gets, not the checkout."""
    wheels, target = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    (wheel,) = wheels.glob("shirtsim-*.whl")
    assert wheel.stat().st_size < 8e6  # the demo catalog and its vectors, not the screenshots
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    elsewhere = tmp_path_factory.mktemp("elsewhere")  # no checkout, no .streamlit/ here
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIRTSIM_CATALOG")}
    env.update(PYTHONPATH=str(target), SHIRTSIM_CACHE_DIR=str(elsewhere / "cache"), SHIRTSIM_WEIGHTS="packaged")
    return SimpleNamespace(target=target, cwd=elsewhere, env=env, command=[str(target / "bin" / "shirtsim")])


@pytest.mark.slow
def test_an_installed_wheel_answers_from_another_folder(installed):
    done = subprocess.run(
        [*installed.command, "similar", "1001", "--json"],
        cwd=installed.cwd,
        env=installed.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) == 10 and "1001" not in {r["id"] for r in results}
    catalog = installed.target / "shirtsim" / "assets" / "demo-catalog"
    assert len(list(catalog.glob("*.jpg"))) == 200  # the demo catalog came with it: no checkout needed


@pytest.mark.browser
def test_shirtsim_app_serves_the_page_from_an_installed_wheel(installed):
    from helpers import READY, free_port, launch_chromium, need_browser

    need_browser()
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen(
        [*installed.command, "app", "--port", str(port)],
        cwd=installed.cwd,
        env=installed.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.time() + 120
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                assert time.time() < deadline, "shirtsim app did not answer within 120 s"
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page()
            page.goto(url + "/?shirt=1001", timeout=120_000)
            page.wait_for_selector(READY, timeout=120_000)
            page.get_by_text("Most similar to 1001").wait_for(timeout=120_000)
            tiles = page.locator(".shirtsim-grid button").filter(has_text=" · ")
            tiles.nth(9).wait_for(timeout=120_000)  # the heading is drawn before the tiles' pictures are made
            page.wait_for_selector(READY, timeout=120_000)
            assert tiles.count() == 10
            # the browse grid is a component whose script and style are package data
            page.locator(".shirtsim-grid button").nth(19).wait_for(timeout=120_000)
            page.get_by_role("button", name="1002", exact=True).click()
            page.get_by_text("Most similar to 1002").wait_for(timeout=120_000)
            page.goto(url + "/map", timeout=120_000)
            page.wait_for_selector(READY, timeout=120_000)
            page.get_by_text("Catalog map", exact=True).first.wait_for(timeout=120_000)
            browser.close()
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0].decode(errors="replace")
    assert "Traceback" not in log, log[-3000:]
