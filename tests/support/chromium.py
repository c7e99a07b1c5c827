"""Debian's chromium through Playwright, launched one way for the benchmarks and the tests.

Never ``playwright install``: the browser is Debian's (``apt-get install chromium``). The flags
keep a headless chromium quiet on a machine without a network or a GPU.
"""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright, **options):
    """A browser from Playwright's sync or async API (the caller awaits the latter)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, **options)
