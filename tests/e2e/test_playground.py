"""The model page's Playground tab in Debian's Chromium against a live studio: generate on a tiny model with a
seed, watch the text stream in from the model host, generate again with the same seed (same text), and see the
server's message when it refuses a request — with a screenshot in test-output/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.hub_fixtures import TinyModels
from tests.support.studio import StudioServer, wait_until

pytestmark = pytest.mark.e2e


def _ready_model(studio: StudioServer, folder: Path) -> str:
    response = studio.client.post("/api/v1/models/import", json={"path": str(folder), "mode": "link",
                                                                 "name": "tiny-llama"}, timeout=60)
    assert response.status_code == 202, response.text
    model_id = response.json()["data"]["id"]

    def ready() -> dict[str, Any] | None:
        model = studio.client.get(f"/api/v1/models/{model_id}", timeout=60).json()["data"]
        assert model["status"] not in ("error", "failed", "cancelled", "interrupted"), model
        return model if model.get("ready") or model["status"] == "ready" else None

    wait_until(ready, timeout=120, interval=0.25, what="the tiny model to be imported")
    return model_id


def test_generate_in_the_playground_streams_text_and_the_same_seed_repeats_it(  # type: ignore[no-untyped-def]
    page, live_studio: StudioServer, tiny_models: TinyModels, test_output_dir: Path
) -> None:
    from playwright.sync_api import expect

    model_id = _ready_model(live_studio, tiny_models("llama"))
    page.goto(f"{live_studio.url}/models/{model_id}?tab=playground")
    panel = page.get_by_test_id("playground")
    expect(panel).to_be_visible(timeout=20_000)

    page.get_by_test_id("playground-prompt").fill("the king and the queen walk by the river")
    page.get_by_test_id("playground-max-new-tokens").fill("24")
    page.get_by_test_id("playground-temperature").fill("0.8")
    page.get_by_test_id("playground-seed").fill("11")
    page.get_by_test_id("playground-generate").click()
    output = page.get_by_test_id("playground-output")
    # The first request starts the model host and loads the model there: give it time on a busy machine.
    expect(output).to_have_attribute("data-state", "done", timeout=120_000)
    figures = page.get_by_test_id("playground-figures")
    expect(figures).to_contain_text("seed 11")
    expect(figures).to_contain_text("model loaded in")
    first_text = output.inner_text()
    assert first_text.strip()
    page.screenshot(path=str(test_output_dir / "playground-1-generated.png"))

    page.get_by_test_id("playground-generate").click()
    expect(figures).to_contain_text("model already loaded", timeout=60_000)  # warm in the host
    expect(output).to_have_attribute("data-state", "done")
    assert output.inner_text() == first_text

    # A request the server refuses shows its message (the schema allows at most 2048 new tokens).
    page.get_by_test_id("playground-max-new-tokens").fill("5000")
    page.get_by_test_id("playground-generate").click()
    expect(page.get_by_test_id("playground-error")).to_contain_text("max_new_tokens")
    page.screenshot(path=str(test_output_dir / "playground-2-refused.png"))
