"""The Features section in Debian's Chromium against a live studio: a tiny llama, a tokenized corpus and a small
top-k SAE trained on it (streamed, with a hold-out) through the API; then in the browser an analysis started from the
SAE's page and followed live to completion, its latents browsed, searched (by token, label, index) and filtered, one
latent opened with its examples highlighted by activation, its label edited and found again — a screenshot at each
step in test-output/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_training import SETUP_TIMEOUT, _accepted, _ready, screenshot, tokenized
from tests.support.hub_fixtures import TinyModels
from tests.support.studio import StudioServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
WIDTH = 48  # latents of the SAE: a browser page (50 rows) holds them all


def _trained_sae(studio: StudioServer, model_dir: Path, folder: Path) -> tuple[str, str]:
    """A streamed top-k SAE (48 latents, k 6) of layer 1's residual stream, a tenth of the sequences held out."""
    model_id, dataset_id, tokenization_id = tokenized(studio, model_dir, folder)
    training = _accepted(studio.client.post("/api/v1/trainings", json={
        "stream": {"model_id": model_id, "dataset_id": dataset_id, "tokenization_id": tokenization_id},
        "hook_point": "blocks.1.resid_post", "holdout_fraction": 0.1, "steps": 30, "batch_tokens": 128,
        "evaluate_in_model": False, "name": "features-e2e",
        "saes": [{"architecture": "topk", "width": WIDTH, "k": 6, "lr": 3e-3}]}, timeout=SETUP_TIMEOUT))
    done: dict[str, Any] = _ready(studio, f"/api/v1/trainings/{training['id']}", "the SAE to be trained", timeout=180)
    return model_id, done["sae_ids"][0]


def test_analyse_an_sae_then_browse_search_and_label_its_latents(  # type: ignore[no-untyped-def]
    page, live_studio: StudioServer, tiny_models: TinyModels, test_output_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    studio = live_studio
    model_id, sae_id = _trained_sae(studio, tiny_models("llama"), tmp_path / "docs")

    def shot(name: str, focus=None, tall: bool = False) -> None:  # type: ignore[no-untyped-def]
        screenshot(page, test_output_dir / f"features-{name}.png", focus, tall)

    # The section lists the SAE; its page offers the analysis form, over the training's hold-out by default.
    page.goto(studio.url)
    page.get_by_test_id("nav-features").click()
    page.get_by_test_id(f"features-sae-row-{sae_id}").click()
    form = page.get_by_test_id("analyze-form")
    expect(form.get_by_test_id("analyze-source-holdout")).to_have_attribute("aria-checked", "true")
    # The client's check names the field and the range, and Start waits for a fix.
    form.get_by_test_id("analyze-topK").fill("0")
    expect(form.get_by_test_id("analyze-topK-field-error")).to_contain_text("Top examples: between 1 and 10,000")
    expect(form.get_by_test_id("analyze-start")).to_be_disabled()
    form.get_by_test_id("analyze-topK").fill("8")
    # The server's check: more sequences than the tokenization has, its message next to the field.
    form.get_by_test_id("analyze-source-tokenization").click()
    expect(form.get_by_test_id("analyze-tokenization")).not_to_have_value("")
    form.get_by_test_id("analyze-maxSequences").fill("100000")
    form.get_by_test_id("analyze-start").click()
    expect(form.get_by_test_id("analyze-maxSequences-field-error")).to_contain_text("HTTP 400")
    shot("1-form-server-error", form)
    form.get_by_test_id("analyze-maxSequences").fill("")
    form.get_by_test_id("analyze-source-holdout").click()
    form.get_by_test_id("analyze-start").click()

    # The analysis is listed and followed live until it completes.
    rows = page.get_by_test_id("analysis-table").locator("[data-testid^='analysis-row-']")
    expect(rows).to_have_count(1, timeout=10_000)
    analysis_id = (rows.first.get_attribute("data-testid") or "").removeprefix("analysis-row-")
    expect(page.get_by_test_id(f"analysis-status-{analysis_id}")).to_have_attribute("data-status", "completed",
                                                                                  timeout=120_000)
    expect(rows.first).to_contain_text(re.compile(r"\d+ tokens · \d+ dead"))
    expect(page.get_by_test_id(f"analysis-delete-{analysis_id}")).to_be_visible()
    expect(page.get_by_test_id(f"analysis-pause-{analysis_id}")).to_have_count(0)
    shot("2-analysis-completed")

    # The browser: every latent on one page, sortable and searchable.
    rows.first.click()
    browser = page.get_by_test_id("feature-browser")
    table = browser.get_by_test_id("feature-table")
    latent_rows = table.locator("[data-testid^='feature-row-']")
    expect(latent_rows).to_have_count(WIDTH, timeout=20_000)
    shot("3-browser", tall=True)
    browser.get_by_test_id("feature-sort").select_option("frequency")
    expect(browser.get_by_test_id("feature-order")).to_have_attribute("data-order", "desc")
    features = studio.client.get(f"/api/v1/analyses/{analysis_id}/features",
                                 params={"sort": "frequency", "limit": 200}).json()["data"]
    top = next(f for f in features if not f["dead"])
    expect(latent_rows.first).to_have_attribute("data-testid", f"feature-row-{top['latent']}")
    browser.get_by_test_id("feature-liveliness").select_option("dead")
    dead = sum(1 for f in features if f["dead"])
    if dead:
        expect(latent_rows).to_have_count(dead)
    else:
        expect(table).to_contain_text("No latent matches")
    browser.get_by_test_id("feature-liveliness").select_option("all")

    # Search by token: the latents whose top examples peak on it or whose logit lens promotes it (the server's answer).
    detail = studio.client.get(f"/api/v1/analyses/{analysis_id}/features/{top['latent']}").json()["data"]
    peak_token = next(e for e in detail["examples"] if e["kind"] == "top")
    token = peak_token["texts"][max(range(len(peak_token["activations"])), key=peak_token["activations"].__getitem__)]
    expected = studio.client.get(f"/api/v1/analyses/{analysis_id}/features",
                                 params={"token": token.strip(), "limit": 200}).json()["pagination"]["total"]
    assert expected >= 1
    browser.get_by_test_id("feature-search-mode").select_option("token")
    browser.get_by_test_id("feature-search").fill(token.strip())
    expect(latent_rows).to_have_count(expected)
    expect(browser.get_by_test_id(f"feature-row-{top['latent']}")).to_be_visible()
    shot("4-search-token")
    # By index: exactly that latent; an index that is no number gets the fix, not a request.
    browser.get_by_test_id("feature-search-mode").select_option("index")
    browser.get_by_test_id("feature-search").fill("abc")
    expect(browser.get_by_test_id("feature-filters-error")).to_contain_text("Index: a latent's number")
    browser.get_by_test_id("feature-search").fill(str(top["latent"]))
    expect(latent_rows).to_have_count(1)

    # The latent's page: examples tinted by activation with the value on hover, its evidence, and steering.
    latent_rows.first.click()
    latent = page.get_by_test_id("feature-detail")
    expect(latent).to_have_attribute("data-latent", str(top["latent"]))
    examples = latent.get_by_test_id("feature-top-examples")
    active = examples.get_by_test_id("feature-token-active").first
    expect(active).to_be_visible()
    expect(active).to_have_attribute("title", re.compile(r"activation \d"))
    assert "background-color: rgba(245, 158, 11" in (active.get_attribute("style") or "")
    expect(latent.get_by_test_id("feature-promoted").locator("li")).not_to_have_count(0)
    expect(latent.get_by_test_id("feature-neighbours").locator("a")).not_to_have_count(0)
    expect(latent.get_by_test_id("feature-histogram")).to_be_visible()
    expect(latent.get_by_test_id("feature-ablation")).to_contain_text("Δ next-token loss")
    expect(latent.get_by_test_id("feature-steer-link")).to_have_attribute(
        "href", f"/steering?model={model_id}&sae={sae_id}&feature={top['latent']}")
    shot("5-detail", tall=True)

    # Your own text, through the model host: this latent on each of its tokens, and the text's top latents.
    latent.get_by_test_id("feature-probe-text").fill("the king and the queen walk by the river")
    latent.get_by_test_id("feature-probe-run").click()
    probe_tokens = latent.get_by_test_id("feature-probe-tokens")
    expect(probe_tokens).to_contain_text("king", timeout=60_000)
    expect(latent.get_by_test_id("feature-probe-top").locator("a")).not_to_have_count(0)
    shot("5b-your-text", latent.get_by_test_id("feature-probe"))

    # Edit its label: saved as a user label, and found by a label search.
    latent.get_by_test_id("feature-label-input").fill("e2e royal latent")
    latent.get_by_test_id("feature-notes-input").fill("fires on the king's lines")
    latent.get_by_test_id("feature-label-save").click()
    expect(latent.get_by_test_id("feature-detail-title")).to_contain_text("e2e royal latent")
    expect(latent.get_by_test_id("feature-label-form")).to_contain_text("Now: user label")
    latent.get_by_test_id("feature-favourite").click()
    expect(latent.get_by_test_id("feature-favourite")).to_have_attribute("aria-pressed", "true")
    shot("6-labelled")
    # A neighbour's link opens that latent.
    neighbour = latent.get_by_test_id("feature-neighbours").locator("a").first
    neighbour_id = (neighbour.get_attribute("data-testid") or "").removeprefix("feature-neighbours-")
    neighbour.click()
    expect(latent).to_have_attribute("data-latent", neighbour_id)

    page.goto(f"{studio.url}/features/analyses/{analysis_id}?by=label&q=royal")
    expect(latent_rows).to_have_count(1)
    expect(latent_rows.first).to_contain_text("e2e royal latent")
    expect(latent_rows.first).to_contain_text("user")
    page.goto(f"{studio.url}/features/analyses/{analysis_id}?fav=1")
    expect(latent_rows).to_have_count(1)
    shot("7-search-label")
    # Labelling with an LLM offers the studio's ready models (the job itself is tested in tests/features).
    page.get_by_test_id("label-job-panel").locator("summary").click()
    expect(page.get_by_test_id("label-local-model")).to_have_value(model_id)
    expect(page.get_by_test_id("label-job-start")).to_be_enabled()
    shot("8-label-panel")

    # The feature table downloads as CSV: a header and a row per latent, the edited label in it.
    with page.expect_download() as downloading:
        page.get_by_test_id("feature-export-csv").click()
    csv = Path(downloading.value.path()).read_text().splitlines()
    assert len(csv) == WIDTH + 1 and "latent" in csv[0]
    assert any("e2e royal latent" in line for line in csv)
    # The refused analysis above is the browser's only complaint.
    unexpected = [e for e in page.console_errors if "status of 400" not in e]  # type: ignore[attr-defined]
    assert unexpected == [], unexpected
