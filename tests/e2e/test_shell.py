"""The web shell in Debian's Chromium: health in the status bar, a live job in the drawer, cancel from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mistudio.config import Settings
from mistudio.platform.runtime import Runtime
from tests.support.studio import StudioServer

pytestmark = pytest.mark.e2e


def test_shell_loads_and_shows_health(page, live_studio: StudioServer, test_output_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(live_studio.url)
    expect(page.get_by_test_id("nav-overview")).to_be_visible()
    expect(page.get_by_test_id("nav-jobs")).to_be_visible()
    database = page.get_by_test_id("health-database")
    expect(database).to_have_attribute("data-ok", "true")
    expect(database).to_contain_text("sqlite")
    expect(page.get_by_test_id("health-runner")).to_contain_text("local")
    expect(page.get_by_test_id("health-device")).to_contain_text("CPU")
    expect(page.get_by_text(re.compile("server health", re.IGNORECASE))).to_be_visible()
    page.screenshot(path=str(test_output_dir / "shell-overview.png"))


def test_a_running_job_appears_in_the_drawer_and_is_cancelled_from_it(
    page, live_studio: StudioServer, test_output_dir: Path  # type: ignore[no-untyped-def]
) -> None:
    from playwright.sync_api import expect

    submitter = Runtime.open(Settings(home=live_studio.home, job_modules=["tests.support.job_kinds"]))
    try:
        page.goto(live_studio.url)
        expect(page.get_by_test_id("status-live")).to_be_visible()
        job = submitter.runner.submit("test.count", {"n": 3000, "delay": 0.05})
        live_studio.wait_for_job(job.id, ("running",))
        page.get_by_test_id("jobs-drawer-toggle").click()
        drawer = page.get_by_test_id("jobs-drawer")
        row = drawer.get_by_test_id(f"job-row-{job.id}")
        expect(row).to_have_attribute("data-status", "running")
        expect(row).to_contain_text("test.count")
        percent = row.get_by_test_id(f"job-progress-{job.id}-percent")
        expect(percent).not_to_have_text("0%", timeout=10_000)  # live progress events arrive
        page.screenshot(path=str(test_output_dir / "jobs-drawer-running.png"))

        row.get_by_test_id(f"job-cancel-{job.id}").click()
        page.get_by_test_id("confirm-dialog-confirm").click()
        expect(row).to_have_attribute("data-status", "cancelled", timeout=5_000)
        page.screenshot(path=str(test_output_dir / "jobs-drawer-cancelled.png"))
        assert live_studio.job(job.id)["status"] == "cancelled"
    finally:
        submitter.close()
