"""The training form's two sources and the SAEs list, in Debian's Chromium against a live studio on a tiny llama:
a run streamed from the model (no extraction) over two hook points at once, with each source's cost stated and the
server's live estimate and refusals next to their fields; SAELens and sparsify folders imported into the SAEs list
and into a model's SAEs tab. Screenshots in test-output/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.test_training import _accepted, _ready, screenshot, tokenized
from tests.support.hub_fixtures import TinyModels
from tests.support.studio import StudioServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

D_MODEL = 64  # the tiny llama's width


def test_stream_two_hook_points_from_the_model_with_the_cost_estimate_and_refusals_in_the_form(  # type: ignore[no-untyped-def]
    page, live_studio: StudioServer, tiny_models: TinyModels, test_output_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    studio = live_studio
    model_id, dataset_id, tokenization_id = tokenized(studio, tiny_models("llama"), tmp_path / "docs")
    page.goto(f"{studio.url}/training")
    form = page.get_by_test_id("train-form")

    # No extraction yet: the stored source has nothing to offer, and each source says what it costs.
    expect(form.get_by_test_id("train-source-extraction")).to_have_attribute("aria-checked", "true")
    expect(form.get_by_test_id("train-extraction")).to_contain_text("No completed extraction yet")
    expect(form.get_by_test_id("train-source-extraction-cost")).to_contain_text("Disk space once")
    expect(form.get_by_test_id("train-source-extraction-cost")).to_contain_text("reusable across runs")
    expect(form.get_by_test_id("train-source-stream-cost")).to_contain_text("No disk")
    expect(form.get_by_test_id("train-source-stream-cost")).to_contain_text("forward pass on every batch")
    expect(form.get_by_test_id("train-start")).to_be_disabled()

    # Streamed: the ready model, a tokenization made with it, and the middle layer's residual stream.
    form.get_by_test_id("train-source-stream").click()
    expect(form.get_by_test_id("train-source-stream")).to_have_attribute("aria-checked", "true")
    expect(form.get_by_test_id("train-extraction")).to_have_count(0)
    expect(form.get_by_test_id("train-model")).to_have_value(model_id)
    expect(form.get_by_test_id("train-dataset")).to_have_value(dataset_id)
    expect(form.get_by_test_id("train-tokenization")).to_have_value(tokenization_id)
    expect(form.get_by_test_id("train-hook-point")).to_have_value("blocks.1.resid_post")
    expect(form.get_by_test_id("train-model-field")).to_contain_text(f"2 layers · d {D_MODEL}")

    for field, value in (("train-expansion-factor", "4"), ("train-k", "8"), ("train-lr", "0.001"),
                         ("train-steps", "40"), ("train-batch-tokens", "64"), ("train-log-every", "10"),
                         ("train-checkpoint-every", "10"), ("train-name", "stream-e2e")):
        form.get_by_test_id(field).fill(value)
    # The client's check of the forward batch, then the server's of the sample count (it alone knows the data).
    form.get_by_test_id("train-forward-batch").fill("6")
    expect(form.get_by_test_id("train-forward-batch-field-error")).to_contain_text("A power of 2")
    form.get_by_test_id("train-forward-batch").fill("8")
    form.get_by_test_id("train-max-samples").fill("100000")
    error = form.get_by_test_id("train-max-samples-field-error")
    expect(error).to_contain_text("max_samples must be between 1 and 60")
    expect(form.get_by_test_id("train-start")).to_be_disabled()
    screenshot(page, test_output_dir / "training-stream-1-server-error.png", form, tall=True)

    form.get_by_test_id("train-max-samples").fill("")
    expect(error).to_have_count(0)
    estimate = form.get_by_test_id("train-estimate")
    expect(estimate).to_have_attribute("data-state", "ready", timeout=30_000)
    # The time counts SAE steps only, and says so: the model's forward passes come on top.
    expect(estimate.get_by_test_id("train-estimate-time")).to_contain_text("Time (SAE steps)")
    expect(estimate.get_by_test_id("train-estimate-tokens")).to_contain_text("2.6K")  # 40 × 64
    expect(estimate.get_by_test_id("train-warning").first).to_contain_text("excludes the model's forward passes")

    # Two hook points over the same forward passes: a sweep of hook points, one SAE each; a name the model lacks
    # is refused before asking.
    form.get_by_test_id("train-sweep-param").select_option("hook_point")
    expect(form.get_by_test_id("train-sweep-values")).to_have_value("blocks.1.resid_post")
    expect(form.get_by_test_id("train-hook-point")).to_be_disabled()
    form.get_by_test_id("train-sweep-values").fill("blocks.0.resid_post, blocks.9.resid_post")
    expect(form.get_by_test_id("train-sweep-values-field-error")).to_contain_text(
        "blocks.9.resid_post is not a hook point of the model")
    form.get_by_test_id("train-sweep-values").fill("blocks.0.resid_post, blocks.1.resid_post")
    expect(form.get_by_test_id("train-sweep-values-field")).to_contain_text("2 SAEs over one read of the data (one "
                                                                            "forward pass)")
    expect(estimate.get_by_test_id("train-estimate-parameters")).to_contain_text("2 SAEs", timeout=30_000)
    expect(form.get_by_test_id("train-start")).to_contain_text("(2 SAEs)")
    screenshot(page, test_output_dir / "training-stream-2-estimate.png", form, tall=True)

    form.get_by_test_id("train-start").click()
    row = page.get_by_test_id("training-runs").locator("[data-testid^='training-row-']").first
    expect(row).to_contain_text("stream-e2e", timeout=10_000)
    training_id = (row.get_attribute("data-testid") or "").removeprefix("training-row-")
    row.click()
    detail = page.get_by_test_id("training-detail")
    expect(detail).to_have_attribute("data-status", "completed", timeout=180_000)
    expect(page.get_by_test_id("training-chart-fvu")).to_have_attribute("data-points", "4")
    for member, hook_point in enumerate(("blocks.0.resid_post", "blocks.1.resid_post")):  # each SAE's CE recovered
        final = page.get_by_test_id(f"training-final-row-{member}")
        expect(final).to_contain_text(re.compile(r"\d+\.\d+%"))
        expect(final).to_contain_text(hook_point)
    screenshot(page, test_output_dir / "training-stream-3-completed.png", tall=True)
    page.get_by_test_id("training-tab-config").click()
    expect(page.get_by_test_id("training-config-run")).to_contain_text(f"fp32 model over {dataset_id}")

    training = studio.client.get(f"/api/v1/trainings/{training_id}").json()["data"]
    assert (training["source"], training["extraction_id"], training["tokenization_id"]) == \
        ("stream", None, tokenization_id)
    assert studio.client.get("/api/v1/extractions").json()["pagination"]["total"] == 0  # nothing stored on the way
    saes = studio.client.get("/api/v1/saes", params={"training_id": training_id}).json()["data"]
    assert sorted(sae["hook_point"] for sae in saes) == ["blocks.0.resid_post", "blocks.1.resid_post"]
    unexpected = [e for e in page.console_errors if "status of 400" not in e]  # type: ignore[attr-defined]
    assert unexpected == [], unexpected


def _saelens_folder(folder: Path, d_in: int, width: int, k: int) -> Path:
    """A TopK SAE of random weights saved in the SAELens layout, as SAELens (and the studio) write it."""
    from mistudio.lens.sae.architectures import SparseAutoencoder
    from mistudio.lens.sae.config import SAEConfig
    from mistudio.lens.sae.formats import save_saelens

    config = SAEConfig("topk", d_in=d_in, d_sae=width, k=k, model_name="tiny-llama", hook_point="blocks.1.resid_post")
    return save_saelens(SparseAutoencoder(config), folder)


def _sparsify_folder(folder: Path, d_in: int, width: int, k: int) -> Path:
    """A TopK SAE in sparsify's layout: cfg.json and sae.safetensors (encoder as nn.Linear, W_dec, b_dec)."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    (folder / "cfg.json").write_text(json.dumps({"d_in": d_in, "num_latents": width, "k": k, "activation": "topk"}))
    generator = torch.Generator().manual_seed(0)
    save_file({"encoder.weight": torch.randn(width, d_in, generator=generator), "encoder.bias": torch.zeros(width),
               "W_dec": torch.randn(width, d_in, generator=generator), "b_dec": torch.zeros(d_in)},
              str(folder / "sae.safetensors"))
    return folder


def test_import_saelens_and_sparsify_saes_into_the_list_and_a_models_tab(  # type: ignore[no-untyped-def]
    page, live_studio: StudioServer, tiny_models: TinyModels, test_output_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    studio = live_studio
    model_id = _accepted(studio.client.post("/api/v1/models/import", json={
        "path": str(tiny_models("llama")), "mode": "link", "name": "tiny-llama"}))["id"]
    _ready(studio, f"/api/v1/models/{model_id}", "the tiny model to be imported")
    saelens = _saelens_folder(tmp_path / "saelens", D_MODEL, 128, 4)
    sparsify = _sparsify_folder(tmp_path / "sparsify", D_MODEL, 256, 8)
    narrow = _saelens_folder(tmp_path / "narrow", 32, 64, 4)  # reads d 32: another model's
    (tmp_path / "empty").mkdir()

    page.goto(f"{studio.url}/training")
    page.get_by_test_id("training-saes-link").click()
    listed = page.get_by_test_id("sae-list-table")
    expect(listed).to_contain_text("No SAE yet")
    rows = listed.locator("[data-testid^='sae-row-']")

    def import_sae(path: Path, name: str, model: str | None = None) -> None:
        page.get_by_test_id("sae-import-path").fill(str(path))
        page.get_by_test_id("sae-import-name").fill(name)
        if model is not None:
            page.get_by_test_id("sae-import-model").select_option(model)
        page.get_by_test_id("sae-import-submit").click()

    # A folder with no SAE in it: the server's reason, inline, and the dialog stays open.
    page.get_by_test_id("sae-list-import").click()
    dialog = page.get_by_test_id("sae-import-dialog")
    import_sae(tmp_path / "empty", "nothing")
    expect(dialog.get_by_test_id("sae-import-error")).to_contain_text("holds no SAE")
    expect(dialog.get_by_test_id("sae-import-model")).to_contain_text("tiny-llama")
    screenshot(page, test_output_dir / "training-saes-1-import-refused.png")

    # SAELens, filed under the tiny llama; then sparsify, with no model.
    import_sae(saelens, "saelens-e2e", model_id)
    expect(dialog).to_have_count(0)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("saelens-e2e")
    expect(rows.first).to_contain_text("tiny-llama")
    page.get_by_test_id("sae-list-import").click()
    import_sae(sparsify, "sparsify-e2e")
    expect(rows).to_have_count(2)
    newest = rows.first
    expect(newest).to_contain_text("sparsify-e2e")
    expect(newest).to_contain_text("256")
    expect(newest).to_contain_text("imported")
    screenshot(page, test_output_dir / "training-saes-2-list.png")

    # Its page: the shape read from the folder, where it came from.
    listed.get_by_text("saelens-e2e").click()
    sae = page.get_by_test_id("sae-detail")
    expect(sae.get_by_test_id("sae-detail-info")).to_contain_text(f"d_in {D_MODEL} × 128 latents, k 4")
    expect(sae.get_by_test_id("sae-detail-info")).to_contain_text(str(saelens))

    # The model's SAEs tab lists the one filed under it; an import there is filed under it too (no model to pick),
    # and one that reads another width is refused with the server's reason.
    page.goto(f"{studio.url}/models/{model_id}")
    page.get_by_role("tab", name="SAEs").click()
    tab = page.get_by_test_id("model-saes-table")
    expect(tab.locator("[data-testid^='model-sae-row-']")).to_have_count(1)
    page.get_by_test_id("model-saes-import").click()
    expect(page.get_by_test_id("sae-import-model")).to_have_count(0)
    import_sae(narrow, "narrow")
    expect(page.get_by_test_id("sae-import-error")).to_contain_text(f"has d_model {D_MODEL}")
    import_sae(sparsify, "from-model-tab")
    expect(tab.locator("[data-testid^='model-sae-row-']")).to_have_count(2)
    expect(tab).to_contain_text("from-model-tab")
    screenshot(page, test_output_dir / "training-saes-3-model-tab.png")

    unexpected = [e for e in page.console_errors if "status of 400" not in e]  # type: ignore[attr-defined]
    assert unexpected == [], unexpected
