"""Activation extraction in Debian's Chromium against a live studio, on the real SmolLM2-135M and a Shakespeare play:
the model's Extraction tab with live estimates, a saved template, a started extraction with live progress, its
history row, statistics charts and delete — with a screenshot at each step in test-output/."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.studio import StudioServer, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PLAY = "tempest_gut.txt"  # ~100 KB: a few hundred 64-token sequences
# Requests that load a tokenizer can take seconds on a busy machine; the client's default is 10 s.
SETUP_TIMEOUT = 60


def _ready(studio: StudioServer, path: str, what: str, timeout: float = 120) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        data = studio.client.get(path, timeout=SETUP_TIMEOUT).json()["data"]
        assert data["active"] or data["ready"], data
        return data if data["ready"] else None

    return wait_until(check, timeout=timeout, interval=0.25, what=what)


def _setup(studio: StudioServer, smollm2_dir: Path, shakespeare_dir: Path, folder: Path) -> tuple[str, str, str]:
    """SmolLM2 linked from its folder, one play imported and tokenized with it (packed, 64 tokens)."""
    body: dict[str, Any] = {"path": str(smollm2_dir), "mode": "link", "name": "SmolLM2-135M"}
    model = studio.client.post("/api/v1/models/import", json=body, timeout=SETUP_TIMEOUT)
    assert model.status_code == 202, model.text
    model_id = model.json()["data"]["id"]
    folder.mkdir()
    shutil.copy(shakespeare_dir / PLAY, folder / PLAY)
    body = {"path": str(folder), "txt_mode": "document", "name": "The Tempest"}
    dataset = studio.client.post("/api/v1/datasets/import", json=body, timeout=SETUP_TIMEOUT)
    assert dataset.status_code == 202, dataset.text
    dataset_id = dataset.json()["data"]["id"]
    _ready(studio, f"/api/v1/models/{model_id}", "SmolLM2 to be imported")
    _ready(studio, f"/api/v1/datasets/{dataset_id}", "The Tempest to be imported")
    body = {"model_id": model_id, "max_length": 64, "packing": True}
    tokenized = studio.client.post(f"/api/v1/datasets/{dataset_id}/tokenize", json=body, timeout=SETUP_TIMEOUT)
    assert tokenized.status_code == 202, tokenized.text
    tokenization_id = tokenized.json()["data"]["id"]
    _ready(studio, f"/api/v1/datasets/{dataset_id}/tokenizations/{tokenization_id}", "the tokenization")
    return model_id, dataset_id, tokenization_id


def test_extract_from_smollm2_with_template_progress_statistics_and_delete(  # type: ignore[no-untyped-def]
    page, live_studio: StudioServer, smollm2_dir: Path, shakespeare_dir: Path, test_output_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    studio = live_studio
    model_id, dataset_id, tokenization_id = _setup(studio, smollm2_dir, shakespeare_dir, tmp_path / "tempest")

    def shot(name: str, focus=None) -> None:  # type: ignore[no-untyped-def]
        dismiss = page.get_by_label("Dismiss notification")
        while dismiss.count():
            try:
                dismiss.first.click(timeout=1000)
            except PlaywrightTimeout:  # it went away on its own meanwhile
                pass
        page.mouse.move(0, 0)
        if focus is not None:
            focus.scroll_into_view_if_needed()
        page.screenshot(path=str(test_output_dir / f"extraction-{name}.png"))

    # Models → the card's "Extract activations" → the model's Extraction tab; the overview is one tab away.
    page.goto(studio.url)
    page.get_by_test_id("nav-models").click()
    page.get_by_test_id(f"model-extract-{model_id}").click()
    expect(page.get_by_test_id("model-detail")).to_have_attribute("data-status", "completed")
    expect(page.get_by_test_id("model-tab-extraction")).to_have_attribute("aria-selected", "true")
    page.get_by_test_id("model-tab-overview").click()
    expect(page.get_by_test_id("arch-parameter-share")).to_be_visible(timeout=10_000)
    page.get_by_test_id("model-tab-extraction").click()
    # This model's tokenization is chosen by itself.
    form = page.get_by_test_id("extract-form")
    expect(form.get_by_test_id("extract-dataset")).to_have_value(dataset_id)
    expect(form.get_by_test_id("extract-tokenization")).to_have_value(tokenization_id)
    expect(form.get_by_test_id("extract-layer-29")).to_be_visible()  # SmolLM2-135M has 30 layers

    # Layers 3 and 6 through the typed range, resid_post only, 64 samples, batches of 16.
    form.get_by_test_id("extract-layers-range").fill("3,6")
    expect(form.get_by_test_id("extract-layer-3")).to_be_checked()
    expect(form.get_by_test_id("extract-layer-6")).to_be_checked()
    expect(form.get_by_test_id("extract-layer-15")).not_to_be_checked()
    expect(form.get_by_test_id("extract-hook-resid_post")).to_be_checked()
    form.get_by_test_id("extract-max-samples-input").fill("64")
    expect(form.get_by_test_id("extract-max-samples-value")).to_have_text("64")
    form.get_by_test_id("extract-batch-size").fill("4")  # the slider's index: 2^4
    expect(form.get_by_test_id("extract-batch-size-value")).to_have_text("16")

    # Live estimates, calibrated on the real model (the first one loads it).
    estimate = form.get_by_test_id("extract-estimate")
    expect(estimate).to_have_attribute("data-state", "ready", timeout=60_000)
    expect(estimate).to_have_attribute("data-can-start", "true")
    shape = "64 samples × 64 tokens × d 576 × 2 hook points"
    expect(estimate.get_by_test_id("extract-estimate-shape")).to_contain_text(shape)
    # 64 × 64 × 576 × 2 × 4 bytes = 18 MB of fp32.
    expect(estimate.get_by_test_id("extract-estimate-storage")).to_contain_text("18.0 MB")
    expect(estimate.get_by_test_id("extract-estimate-time")).to_contain_text("≈")
    expect(estimate.get_by_test_id("extract-estimate-calibration")).to_contain_text(re.compile(r"through \d+ layers"))
    expect(form.get_by_test_id("extract-start")).to_be_enabled()
    shot("1-form-estimates")

    # Save the settings as a template (no name: the server makes one) and see it listed.
    templates = page.get_by_test_id("extract-templates")
    templates.get_by_test_id("template-save").click()
    expect(templates.get_by_test_id("template-saved")).to_contain_text("resid_post_layers3-6_64samples")
    row = templates.locator("[data-testid^='template-apply-']").first
    expect(row).to_contain_text("L3,6 (2) · resid_post · 64 samples · batch 16 · fp32")
    templates.locator("[data-testid^='template-star-']").first.click()
    expect(templates.locator("li[data-favorite]").first).to_have_attribute("data-favorite", "true")
    shot("2-template-saved", templates)

    # Export downloads every template as one JSON file; importing it back renames the copy (the name is taken).
    with page.expect_download() as downloading:
        templates.get_by_test_id("templates-export").click()
    download = downloading.value
    assert re.fullmatch(r"mistudio-templates-\d{8}\.json", download.suggested_filename)
    exported = json.loads(Path(download.path()).read_text())
    assert [t["layers"] for t in exported["extraction_templates"]] == [[3, 6]]
    exported["prompt_templates"] = [{"name": "from a later version"}]  # a section this version does not know
    file = {"name": "templates.json", "mimeType": "application/json", "buffer": json.dumps(exported).encode()}
    templates.get_by_test_id("templates-import-file").set_input_files(file)
    imported = page.get_by_test_id("templates-import-dialog")
    expect(imported.get_by_test_id("templates-import-count")).to_contain_text("Imported 1 template.")
    expect(imported.get_by_test_id("templates-import-renamed")).to_contain_text("_imported_")
    expect(imported.get_by_test_id("templates-import-skipped")).to_contain_text("prompt_templates (1 entry)")
    shot("2b-template-import")
    page.keyboard.press("Escape")
    expect(imported).to_have_count(0)
    expect(templates.locator("li[data-favorite]")).to_have_count(2)

    # Start: the running card shows live samples, speeds and ETA, then the row completes.
    form.get_by_test_id("extract-start").click()
    running = page.get_by_test_id("extraction-running")
    history = page.get_by_test_id("extraction-history")
    history_row = history.locator("[data-testid^='extraction-row-']").first
    expect(history_row).to_be_visible(timeout=10_000)
    extraction_id = (history_row.get_attribute("data-testid") or "").removeprefix("extraction-row-")
    status = history.get_by_test_id(f"extraction-status-{extraction_id}")
    try:
        expect(running.get_by_test_id("extraction-progress-samples")).to_be_visible(timeout=20_000)
        expect(running.get_by_test_id("extraction-progress-batch")).to_contain_text("batch 16")
        shot("3-running")
    except (AssertionError, PlaywrightTimeout):  # done before the first event was drawn: fine, the row tells
        expect(status).to_have_attribute("data-status", "completed")
    expect(status).to_have_attribute("data-status", "completed", timeout=90_000)
    expect(running).to_have_count(0)
    expect(history_row).to_contain_text("L3,6 (2) · resid_post")
    expect(history_row).to_contain_text("64")
    shot("4-history", history)

    # A reload renders the same from REST alone; the saved template (starred, so first) fills the fresh form again.
    page.reload()
    expect(page.get_by_test_id(f"extraction-status-{extraction_id}")).to_have_attribute("data-status", "completed")
    expect(form.get_by_test_id("extract-layers-range")).not_to_have_value("3,6")
    page.get_by_test_id("extract-templates").locator("[data-testid^='template-apply-']").first.click()
    expect(form.get_by_test_id("extract-layers-range")).to_have_value("3,6")
    expect(form.get_by_test_id("extract-max-samples-value")).to_have_text("64")
    expect(form.get_by_test_id("extract-batch-size-value")).to_have_text("16")

    # Detail: metadata, path, statistics table and charts.
    page.get_by_test_id(f"extraction-row-{extraction_id}").click()
    detail = page.get_by_test_id("extraction-detail")
    expect(detail).to_have_attribute("data-status", "completed")
    expect(detail.get_by_test_id("extraction-detail-path")).to_contain_text(extraction_id)
    shot("5a-detail", detail)
    stats = detail.get_by_test_id("extraction-statistics")
    expect(stats.get_by_test_id("extraction-stats-row-blocks.3.resid_post")).to_contain_text("4,096")  # 64 × 64 tokens
    expect(stats.get_by_test_id("extraction-chart-histogram").locator(".recharts-bar-rectangle").first).to_be_visible(timeout=10_000)
    expect(stats.get_by_test_id("extraction-chart-across").locator(".recharts-bar-rectangle")).to_have_count(2)
    expect(stats.get_by_test_id("extraction-chart-variance").locator(".recharts-line")).to_be_visible(timeout=10_000)
    shot("5-statistics", stats)

    # Delete: asks first, then the row is gone and the freed bytes are said.
    size = studio.client.get(f"/api/v1/extractions/{extraction_id}").json()["data"]["size_bytes"]
    assert size > 18_000_000
    detail.get_by_test_id("extraction-delete").click()
    page.get_by_test_id("confirm-dialog").get_by_test_id("confirm-dialog-confirm").click()
    expect(page.get_by_test_id("extraction-deleted")).to_contain_text(re.compile(r"freed 1\d\.\d MB"))
    expect(page.get_by_test_id(f"extraction-row-{extraction_id}")).to_have_count(0)
    expect(page.get_by_test_id("extraction-detail")).to_have_count(0)
    shot("6-deleted")
    assert studio.client.get(f"/api/v1/extractions/{extraction_id}").status_code == 404
    assert page.console_errors == []  # type: ignore[attr-defined]
