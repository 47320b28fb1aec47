"""The Steering section in Debian's Chromium against a live studio, on a tiny llama and a tiny SAE imported on its
block 1: arrive from a feature link (`?model=&sae=&feature=`), push the feature hard, watch baseline and steered
stream side by side with their word diff and read the metrics, sweep three strengths into the chart with the random
control, make a direction from contrastive pairs (export it as a control-vector GGUF and import it back), save the
interventions as a preset and load it, and open and delete experiments in the history — with a screenshot at each
step in test-output/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.formats import save_saelens
from tests.e2e.test_playground import _ready_model
from tests.e2e.test_training import screenshot
from tests.support.hub_fixtures import TinyModels
from tests.support.studio import StudioServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HOOK = "blocks.1.resid_post"
FEATURE = 3
# The tiny llama's residual is small: a feature pushed this hard changes the sampled text (as in tests/steering).
STRENGTH = "400"


def _imported_sae(studio: StudioServer, folder: Path, model_id: str) -> str:
    """A random SAELens-layout SAE on the tiny llama's block 1 (d_model 64), imported and filed under the model."""
    torch.manual_seed(0)
    save_saelens(SparseAutoencoder(SAEConfig("standard", d_in=64, d_sae=128, hook_point=HOOK)), folder)
    response = studio.client.post("/api/v1/saes/import", json={"path": str(folder), "name": "tiny-sae",
                                                              "model_id": model_id}, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def test_steer_with_a_feature_compare_sweep_save_a_preset_and_browse_the_history(  # type: ignore[no-untyped-def]
    page, live_studio: StudioServer, tiny_models: TinyModels, tmp_path: Path, test_output_dir: Path
) -> None:
    from playwright.sync_api import expect

    model_id = _ready_model(live_studio, tiny_models("llama"))
    sae_id = _imported_sae(live_studio, tmp_path / "sae", model_id)

    # Arriving from the feature browser's link: model, SAE and feature are already picked.
    page.goto(f"{live_studio.url}/steering?model={model_id}&sae={sae_id}&feature={FEATURE}")
    expect(page.get_by_test_id("steering-page")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("steering-model")).to_have_value(model_id)
    expect(page.get_by_test_id("steering-sae")).to_have_value(sae_id)
    expect(page.get_by_test_id("steering-hook-point")).to_contain_text(HOOK)
    expect(page.get_by_test_id("intervention-0")).to_contain_text(f"Feature #{FEATURE}")

    # A feature index beyond the SAE is flagged before the server is asked.
    page.get_by_test_id("feature-index").fill("500")
    expect(page.get_by_test_id("steering-interventions")).to_contain_text("the SAE has 128 features")
    page.get_by_test_id("feature-index").fill("")

    page.get_by_test_id("intervention-0-strength").fill(STRENGTH)
    page.get_by_test_id("steering-prompt").fill("the king and the queen")
    page.get_by_test_id("steering-max-new-tokens").fill("8")
    page.get_by_test_id("steering-temperature").fill("1")
    page.get_by_test_id("steering-seed").fill("11")
    page.get_by_test_id("steering-watch-tokens").fill("king")
    page.get_by_test_id("compare-run").click()
    # The first request starts the model host and loads the model and the SAE there.
    expect(page.get_by_test_id("compare-figures")).to_contain_text("seed 11", timeout=120_000)
    baseline = page.get_by_test_id("steering-baseline-text").inner_text()
    steered = page.get_by_test_id("steering-steered-text").inner_text()
    assert baseline.strip() and steered.strip() and baseline != steered
    expect(page.get_by_test_id("compare-interventions")).to_contain_text(f"add feature {FEATURE} × 400 at {HOOK} (all)")
    # The word diff marks what changed on both sides.
    assert page.locator("[data-testid=steering-steered-text] [data-changed]").count() > 0
    assert page.locator("[data-testid=steering-baseline-text] [data-changed]").count() > 0
    # At positions "all" every streamed token of the steered run is marked as steered.
    assert page.locator("[data-testid=steering-steered-text] [data-steered]").count() > 0
    metrics = page.get_by_test_id("steering-metrics")
    expect(metrics).to_be_visible()
    assert float(page.get_by_test_id("metric-kl-mean").inner_text()) > 0.01
    expect(page.get_by_test_id("metric-kl-chart")).to_have_attribute("data-points", "8")
    expect(page.get_by_test_id("metric-token-shifts")).to_contain_text('"king"')
    expect(page.get_by_test_id("metric-feature-activations")).to_contain_text(f"#{FEATURE} at {HOOK}")
    screenshot(page, test_output_dir / "steering-1-compare.png", tall=True)

    # A sweep of three strengths: a chart of each metric against strength, with the random direction.
    page.get_by_test_id("steering-tab-sweep").click()
    page.get_by_test_id("sweep-strengths").fill("0, 200, 400")
    page.get_by_test_id("sweep-run").click()
    chart = page.get_by_test_id("sweep-chart")
    expect(chart).to_have_attribute("data-points", "3", timeout=120_000)
    expect(chart.locator(".recharts-line")).to_have_count(2)
    outputs = page.get_by_test_id("sweep-outputs")
    expect(outputs.locator("tbody tr")).to_have_count(7)  # the baseline, then 3 strengths × (feature, random)
    expect(page.get_by_test_id("sweep-output-intervention@400")).to_be_visible()
    screenshot(page, test_output_dir / "steering-2-sweep.png", tall=True)

    # A direction from contrastive pairs: unequal pairs are refused by the server, naming why; equal ones are saved.
    page.get_by_test_id("direction-new").click()
    page.get_by_test_id("direction-name").fill("royal - common")
    page.get_by_test_id("direction-hook-point").fill(HOOK)
    page.get_by_test_id("direction-positive").fill("the king\nthe queen")
    page.get_by_test_id("direction-negative").fill("the river")
    page.get_by_test_id("direction-create").click()
    expect(page.get_by_test_id("direction-error")).to_contain_text("contrastive prompts come in pairs")
    page.get_by_test_id("direction-negative").fill("the river\nthe night")
    page.get_by_test_id("direction-create").click()
    expect(page.get_by_test_id("direction-form")).to_be_hidden(timeout=60_000)
    expect(page.get_by_test_id("direction-pick").locator("option", has_text="royal - common")).to_have_count(1)
    page.get_by_test_id("direction-add").click()
    expect(page.get_by_test_id("intervention-1")).to_contain_text("Direction royal - common")
    # Its llama.cpp control-vector GGUF downloads, and imports back as a direction of the model.
    with page.expect_download() as download:
        page.get_by_test_id("direction-export").click()
    gguf = tmp_path / "royal.gguf"
    download.value.save_as(gguf)
    assert gguf.read_bytes()[:4] == b"GGUF"
    page.get_by_test_id("direction-import").click()
    page.get_by_test_id("control-vector-path").fill(str(gguf))
    page.get_by_test_id("control-vector-import").get_by_label("Name").fill("imported royal")
    page.get_by_test_id("control-vector-submit").click()
    expect(page.get_by_test_id("control-vector-import")).to_be_hidden(timeout=60_000)
    expect(page.get_by_test_id("direction-pick").locator("option")).to_have_count(3)  # the prompt, then two directions
    # The imported copy is deleted again (after a confirmation).
    options = page.get_by_test_id("direction-pick").locator("option").all_inner_texts()
    imported = next(i for i, text in enumerate(options) if "imported royal" in text)
    page.get_by_test_id("direction-pick").select_option(index=imported)
    page.get_by_label(re.compile("^Delete direction ")).click()
    page.get_by_test_id("confirm-dialog-confirm").click()
    expect(page.get_by_test_id("direction-pick").locator("option")).to_have_count(2)

    # Save the interventions as a preset; it is offered in the list.
    page.get_by_test_id("preset-name").fill("push feature 3")
    page.get_by_test_id("preset-save").click()
    picker = page.get_by_test_id("preset-pick")
    expect(picker.locator("option", has_text="push feature 3 (2)")).to_have_count(1, timeout=20_000)
    expect(picker).not_to_have_value("")  # the saved preset is the chosen one
    # Loading it brings back both interventions after one was removed.
    page.get_by_label("Remove Direction royal - common").click()
    expect(page.get_by_test_id("intervention-1")).to_have_count(0)
    page.get_by_test_id("preset-load").click()
    expect(page.get_by_test_id("intervention-1")).to_contain_text("Direction royal - common")
    screenshot(page, test_output_dir / "steering-3-directions-and-preset.png",
               focus=page.get_by_test_id("steering-interventions"))

    # The history: both experiments; one opens back in its tab, one is deleted.
    page.get_by_test_id("steering-tab-history").click()
    rows = page.get_by_test_id("history-table").locator("tbody tr")
    expect(rows).to_have_count(2, timeout=20_000)
    screenshot(page, test_output_dir / "steering-4-history.png")
    rows.filter(has_text="compare").click()
    expect(page.get_by_test_id("compare-figures")).to_contain_text("seed 11")
    assert page.get_by_test_id("steering-steered-text").inner_text() == steered
    page.get_by_test_id("steering-tab-history").click()
    rows.filter(has_text="sweep").get_by_role("button").click()
    page.get_by_test_id("confirm-dialog-confirm").click()
    expect(rows).to_have_count(1)
    # The browser logs the one refused request (the unequal pairs' 400); nothing else went wrong.
    errors = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "status of 400" not in e] == [] and len(errors) == 1, errors
