"""Playwright (Python) driving Debian's Chromium against a live studio on a temp home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mistudio.api import web_dist_dir
from tests.support.studio import StudioServer

CHROMIUM = Path("/usr/bin/chromium")
# Without these, Chromium keeps dialing Google services this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_studio(studio_home: Path, tmp_path: Path) -> Iterator[StudioServer]:
    """`mistudio serve` (embedded mode) serving the built web UI."""
    if web_dist_dir() is None:
        pytest.skip("the web UI is not built: run `make web` (make test does)")
    server = StudioServer(studio_home, tmp_path / "server.log").start()
    yield server
    server.stop()


@pytest.fixture
def page(browser, test_output_dir: Path, request: pytest.FixtureRequest) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser page; console errors are collected, and a screenshot is kept when a test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))  # type: ignore[attr-defined]
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(test_output_dir / f"FAILED-{request.node.name}.png"))
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
