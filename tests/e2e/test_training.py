"""SAE training in Debian's Chromium against a live studio, on a tiny llama's extraction: the form's presets and checks
(the client's, and the server's live estimate with its message next to its field), a started run whose dashboard
charts fill as it trains and completes with its final metrics and SAE, its checkpoints and logs, a sweep, the two runs
compared, and the model's SAEs tab — with a screenshot at each step in test-output/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub_fixtures import TinyModels
from tests.support.studio import StudioServer, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOCS = [f"Line {i}: the king and the queen walk by the river at night, {'singing' if i % 2 else 'reading'}."
        for i in range(60)]
SETUP_TIMEOUT = 60


def _accepted(response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    return response.json()["data"]


def _ready(studio: StudioServer, path: str, what: str, timeout: float = 120) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        data = studio.client.get(path, timeout=SETUP_TIMEOUT).json()["data"]
        assert data["active"] or data["ready"], data
        return data if data["ready"] else None

    return wait_until(check, timeout=timeout, interval=0.25, what=what)


def tokenized(studio: StudioServer, model_dir: Path, folder: Path) -> tuple[str, str, str]:
    """A tiny llama and a 60-line dataset tokenized with it (at most 24 tokens): model, dataset, tokenization ids."""
    client = studio.client
    model_id = _accepted(client.post("/api/v1/models/import", json={"path": str(model_dir), "mode": "link",
                                                                    "name": "tiny-llama"}, timeout=SETUP_TIMEOUT))["id"]
    folder.mkdir()
    (folder / "docs.txt").write_text("\n".join(DOCS))
    dataset_id = _accepted(client.post("/api/v1/datasets/import", json={"path": str(folder / "docs.txt")},
                                       timeout=SETUP_TIMEOUT))["id"]
    _ready(studio, f"/api/v1/models/{model_id}", "the tiny model to be imported")
    _ready(studio, f"/api/v1/datasets/{dataset_id}", "the dataset to be imported")
    tokenization_id = _accepted(client.post(f"/api/v1/datasets/{dataset_id}/tokenize",
                                            json={"model_id": model_id, "max_length": 24}, timeout=SETUP_TIMEOUT))["id"]
    _ready(studio, f"/api/v1/datasets/{dataset_id}/tokenizations/{tokenization_id}", "the tokenization")
    return model_id, dataset_id, tokenization_id


def _setup(studio: StudioServer, model_dir: Path, folder: Path) -> tuple[str, str]:
    """`tokenized`, and an extraction of layer 1 (resid_post, mlp_out)."""
    client = studio.client
    model_id, dataset_id, tokenization_id = tokenized(studio, model_dir, folder)
    body = {"dataset_id": dataset_id, "tokenization_id": tokenization_id, "layers": [1],
            "hook_points": ["resid_post", "mlp_out"], "batch_size": 8}
    extraction_id = _accepted(client.post(f"/api/v1/models/{model_id}/extract", json=body, timeout=SETUP_TIMEOUT))["id"]
    _ready(studio, f"/api/v1/extractions/{extraction_id}", "the extraction")
    return model_id, extraction_id


def screenshot(page, path: Path, focus=None, tall: bool = False) -> None:  # type: ignore[no-untyped-def]
    """The page as the user sees it, toasts dismissed; `tall`: the whole page (it scrolls inside <main>)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    dismiss = page.get_by_label("Dismiss notification")
    while dismiss.count():
        try:
            dismiss.first.click(timeout=1000)
        except PlaywrightTimeout:  # it went away on its own meanwhile
            pass
    page.mouse.move(0, 0)
    if focus is not None:
        focus.scroll_into_view_if_needed()
    if tall:
        page.set_viewport_size({"width": 1400, "height": 1500})
    page.screenshot(path=str(path))
    if tall:
        page.set_viewport_size({"width": 1400, "height": 900})


def test_train_an_sae_follow_its_dashboard_and_compare_two_runs(  # type: ignore[no-untyped-def]
    page, live_studio: StudioServer, tiny_models: TinyModels, test_output_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    studio = live_studio
    model_id, extraction_id = _setup(studio, tiny_models("llama"), tmp_path / "docs")

    def shot(name: str, focus=None, tall: bool = False) -> None:  # type: ignore[no-untyped-def]
        screenshot(page, test_output_dir / f"training-{name}.png", focus, tall)

    page.goto(studio.url)
    page.get_by_test_id("nav-training").click()
    form = page.get_by_test_id("train-form")
    # The one completed extraction is chosen, with its first hook point.
    expect(form.get_by_test_id("train-extraction")).to_have_value(extraction_id)
    expect(form.get_by_test_id("train-hook-point")).to_have_value("blocks.1.resid_post")

    # Presets fill the SAE: ReLU+L1 asks for an L1 coefficient and no k; TopK the other way round.
    form.get_by_test_id("train-preset-relu-l1-8x").click()
    expect(form.get_by_test_id("train-architecture")).to_have_value("standard")
    expect(form.get_by_test_id("train-sparsity-field")).to_contain_text("L1 coefficient")
    expect(form.get_by_test_id("train-k")).to_have_count(0)
    form.get_by_test_id("train-preset-jumprelu-8x").click()
    expect(form.get_by_test_id("train-sparsity-field")).to_contain_text("L0 coefficient")
    form.get_by_test_id("train-preset-topk-8x-k32").click()
    expect(form.get_by_test_id("train-architecture")).to_have_value("topk")
    expect(form.get_by_test_id("train-k")).to_have_value("32")
    expect(form.get_by_test_id("train-sparsity")).to_have_count(0)

    # The tiny run of the API tests: 4 × d 64 = 256 latents, k 8, 40 steps of 64 tokens, a point every 10 steps.
    form.get_by_test_id("train-expansion-factor").fill("4")
    expect(form.get_by_test_id("train-expansion-factor-field")).to_contain_text("256 latents")
    form.get_by_test_id("train-lr").fill("0.001")
    form.get_by_test_id("train-steps").fill("40")
    form.get_by_test_id("train-log-every").fill("10")
    form.get_by_test_id("train-checkpoint-every").fill("10")
    form.get_by_test_id("train-name").fill("topk-e2e")

    # The client's check: k cannot exceed the width, and Start waits for a fix.
    form.get_by_test_id("train-k").fill("300")
    expect(form.get_by_test_id("train-k-field-error")).to_contain_text("At most the width (256 latents)")
    expect(form.get_by_test_id("train-start")).to_be_disabled()
    form.get_by_test_id("train-k").fill("8")
    expect(form.get_by_test_id("train-k-field-error")).to_have_count(0)

    # The server's check, asked by the live estimate as the form changes: a batch larger than the extraction's
    # tokens, its message next to the field, and Start waits for a fix.
    form.get_by_test_id("train-batch-tokens").fill("1000000")
    error = form.get_by_test_id("train-batch-tokens-field-error")
    expect(error).to_contain_text("batch_tokens")
    expect(error).to_contain_text("HTTP 400")
    expect(form.get_by_test_id("train-start")).to_be_disabled()
    shot("1-form-server-error", form)
    form.get_by_test_id("train-batch-tokens").fill("64")
    expect(error).to_have_count(0)
    # The estimate of the fixed form: 40 steps × 64 tokens, its time measured on real SAE steps.
    estimate = form.get_by_test_id("train-estimate")
    expect(estimate).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(estimate.get_by_test_id("train-estimate-tokens")).to_contain_text("2.6K")
    expect(estimate.get_by_test_id("train-estimate-time")).to_contain_text("40 steps")
    expect(estimate.get_by_test_id("train-estimate-memory")).to_contain_text(re.compile(r"\d+(\.\d+)? [KM]B"))
    expect(form.get_by_test_id("train-start")).to_be_enabled()
    shot("2-form-filled", form)

    # Start: the run is listed on top, and its row opens the dashboard.
    form.get_by_test_id("train-start").click()
    runs = page.get_by_test_id("training-runs")
    row = runs.locator("[data-testid^='training-row-']").first
    expect(row).to_contain_text("topk-e2e", timeout=10_000)
    first_id = (row.get_attribute("data-testid") or "").removeprefix("training-row-")
    row.click()
    detail = page.get_by_test_id("training-detail")
    expect(detail).to_have_attribute("data-training-id", first_id)
    # The charts fill (live or from REST), and the run completes with 4 points of each metric.
    expect(page.get_by_test_id("training-chart-fvu").locator(".recharts-line-curve").first).to_be_visible(timeout=60_000)
    expect(detail).to_have_attribute("data-status", "completed", timeout=180_000)
    for metric in ("loss", "fvu", "l0", "dead_fraction", "lr", "tokens_per_second"):
        expect(page.get_by_test_id(f"training-chart-{metric}")).to_have_attribute("data-points", "4")
    expect(page.get_by_test_id("training-progress-steps")).to_contain_text("step 40 / 40")
    final = page.get_by_test_id("training-final-metrics")
    expect(final.get_by_test_id("training-final-row-0")).to_contain_text(re.compile(r"\d+\.\d+%"))  # CE recovered
    expect(final.get_by_test_id("training-sae-link-0")).to_be_visible()
    # Lifecycle controls follow the server's flags: a completed run can only be deleted.
    expect(page.get_by_test_id("training-delete")).to_be_visible()
    expect(page.get_by_test_id("training-pause")).to_have_count(0)
    expect(page.get_by_test_id("training-resume")).to_have_count(0)
    shot("3-dashboard-completed", tall=True)

    # The metrics download as CSV: a row per logged step.
    with page.expect_download() as downloading:
        page.get_by_test_id("training-download-csv").click()
    csv = Path(downloading.value.path()).read_text().splitlines()
    assert csv[0].startswith("member,step,") and "fvu" in csv[0] and len(csv) == 5

    page.get_by_test_id("training-tab-checkpoints").click()
    checkpoints = page.get_by_test_id("checkpoints-table")
    expect(checkpoints.get_by_test_id("checkpoint-row-40")).to_be_visible()
    shot("4-checkpoints")
    page.get_by_test_id("training-tab-logs").click()
    expect(page.get_by_test_id("training-log-lines")).to_be_visible()
    shot("5-logs")

    # The SAE it made, from the final metrics table.
    page.get_by_test_id("training-tab-dashboard").click()
    page.get_by_test_id("training-sae-link-0").click()
    sae = page.get_by_test_id("sae-detail")
    expect(sae.get_by_test_id("sae-detail-info")).to_contain_text("d_in 64 × 256 latents, k 8")
    expect(sae.get_by_test_id("sae-detail-metrics")).to_contain_text("holdout_fvu")
    shot("6-sae")

    # A second run: the k sweep (3 SAEs over one read), started from the form.
    page.get_by_test_id("nav-training").click()
    form.get_by_test_id("train-preset-sweep-k").click()
    form.get_by_test_id("train-expansion-factor").fill("4")
    form.get_by_test_id("train-sweep-values").fill("4, 8, 16")
    for field, value in (("train-steps", "40"), ("train-batch-tokens", "64"), ("train-log-every", "10"),
                         ("train-checkpoint-every", "10"), ("train-name", "sweep-e2e")):
        form.get_by_test_id(field).fill(value)
    expect(form.get_by_test_id("train-start")).to_contain_text("(3 SAEs)")
    form.get_by_test_id("train-start").click()
    expect(runs.locator("[data-testid^='training-row-']").first).to_contain_text("sweep-e2e", timeout=10_000)
    second_id = (runs.locator("[data-testid^='training-row-']").first.get_attribute("data-testid") or "") \
        .removeprefix("training-row-")
    # The list follows the run live until it completes.
    expect(runs.get_by_test_id(f"training-status-{second_id}")).to_have_attribute("data-status", "completed",
                                                                                 timeout=180_000)
    expect(runs.get_by_test_id(f"training-steps-{second_id}")).to_contain_text("40 / 40")
    expect(runs.get_by_test_id(f"training-fvu-{second_id}")).to_contain_text(re.compile(r"\d"))
    shot("7-runs")

    # Compare the two: overlaid FVU and L0 (1 + 3 lines) and their final figures.
    runs.get_by_test_id(f"training-select-{first_id}").check()
    runs.get_by_test_id(f"training-select-{second_id}").check()
    runs.get_by_test_id("training-compare-open").click()
    compare = page.get_by_test_id("training-compare")
    for metric in ("fvu", "l0"):
        chart = compare.get_by_test_id(f"compare-chart-{metric}")
        expect(chart).to_have_attribute("data-points", "4", timeout=20_000)
        expect(chart.locator(".recharts-line-curve")).to_have_count(4)
    table = compare.get_by_test_id("compare-table")
    expect(table.locator("[data-testid^='compare-row-']")).to_have_count(4)
    expect(table.get_by_test_id(f"compare-row-{first_id}-0")).to_contain_text("topk-e2e")
    shot("8-compare", tall=True)

    # The model's page lists its four SAEs.
    page.goto(f"{studio.url}/models/{model_id}?tab=saes")
    saes = page.get_by_test_id("model-saes-table")
    expect(saes.locator("[data-testid^='model-sae-row-']")).to_have_count(4, timeout=20_000)
    shot("9-model-saes")

    # Delete the first run (asked first); its SAEs stay.
    page.goto(f"{studio.url}/training/{first_id}")
    page.get_by_test_id("training-delete").click()
    page.get_by_test_id("confirm-dialog-confirm").click()
    expect(page.get_by_test_id("training-page")).to_be_visible()
    expect(page.get_by_test_id(f"training-row-{first_id}")).to_have_count(0)
    assert studio.client.get("/api/v1/saes", params={"model_id": model_id}).json()["pagination"]["total"] == 4

    # A long run followed live: the charts grow without a reload; Pause, Resume and Stop as the server's flags allow.
    page.get_by_test_id("nav-training").click()
    form.get_by_test_id("train-preset-topk-8x-k32").click()
    form.get_by_test_id("train-expansion-factor").fill("4")
    for field, value in (("train-k", "8"), ("train-steps", "100000"), ("train-batch-tokens", "64"),
                         ("train-log-every", "5"), ("train-checkpoint-every", "5"), ("train-name", "long-e2e")):
        form.get_by_test_id(field).fill(value)
    form.get_by_test_id("train-evaluate").uncheck()
    form.get_by_test_id("train-start").click()
    row = runs.locator("[data-testid^='training-row-']").first
    expect(row).to_contain_text("long-e2e", timeout=10_000)
    row.click()
    expect(detail).to_have_attribute("data-status", "running", timeout=60_000)
    fvu = page.get_by_test_id("training-chart-fvu")
    expect(fvu).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"), timeout=60_000)
    seen = int(fvu.get_attribute("data-points") or 0)
    wait_until(lambda: int(fvu.get_attribute("data-points") or 0) > seen + 2, timeout=60, what="live steps")
    expect(page.get_by_test_id("training-stop")).to_be_visible()
    expect(page.get_by_test_id("training-delete")).to_have_count(0)  # nothing to delete while it runs
    shot("10-dashboard-live", tall=True)

    page.get_by_test_id("training-pause").click()
    expect(detail).to_have_attribute("data-status", "cancelled", timeout=60_000)
    expect(page.get_by_test_id("training-detail-message")).to_contain_text("paused at step")
    expect(page.get_by_test_id("training-pause")).to_have_count(0)
    shot("11-paused")
    page.get_by_test_id("training-resume").click()
    expect(detail).to_have_attribute("data-status", "running", timeout=60_000)
    page.get_by_test_id("training-stop").click()
    page.get_by_test_id("confirm-dialog-confirm").click()
    expect(detail).to_have_attribute("data-status", "completed", timeout=120_000)
    expect(page.get_by_test_id("training-detail-done")).to_contain_text("stopped early")
    expect(page.get_by_test_id("training-final-row-0")).to_be_visible()
    shot("12-stopped-early", tall=True)

    # The refused estimate above is the browser's only complaint.
    unexpected = [e for e in page.console_errors if "status of 400" not in e]  # type: ignore[attr-defined]
    assert unexpected == [], unexpected
