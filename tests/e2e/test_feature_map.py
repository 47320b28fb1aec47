"""The feature map in Debian's Chromium against a live studio: an analysis of the e2e SAE (started through the API),
its map page opened from the latent browser, a PCA map computed as a job and drawn, a point hovered (its latent and
label) and shift-clicked into the correlation heatmap, then clicked open — a screenshot at each step in test-output/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_features import WIDTH, _trained_sae
from tests.e2e.test_training import SETUP_TIMEOUT, _accepted, _ready, screenshot
from tests.support.hub_fixtures import TinyModels
from tests.support.studio import StudioServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CANVAS = (720, 480, 12)  # MapCanvas' drawing size and padding, in canvas pixels


def _canvas_point(found: dict[str, Any], latent: int) -> tuple[float, float]:
    """Where MapCanvas draws `latent`: one scale for both axes, centred, y up (as mapPoints.toPixels)."""
    width, height, padding = CANVAS
    xs, ys = found["x"], found["y"]
    span_x, span_y = (max(xs) - min(xs)) or 1, (max(ys) - min(ys)) or 1
    scale = min((width - 2 * padding) / span_x, (height - 2 * padding) / span_y)
    x = (width - scale * span_x) / 2 + (xs[latent] - min(xs)) * scale
    y = height - ((height - scale * span_y) / 2 + (ys[latent] - min(ys)) * scale)
    return x, y


def test_compute_a_pca_map_hover_pick_into_the_heatmap_and_open_a_latent(  # type: ignore[no-untyped-def]
    page, live_studio: StudioServer, tiny_models: TinyModels, test_output_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    studio = live_studio
    _, sae_id = _trained_sae(studio, tiny_models("llama"), tmp_path / "docs")
    analysis = _accepted(studio.client.post(f"/api/v1/saes/{sae_id}/analyses", json={
        "top_k": 4, "context": 3, "correlations": 5, "neighbours": 3, "batch_size": 16}, timeout=SETUP_TIMEOUT))
    _ready(studio, f"/api/v1/analyses/{analysis['id']}", "the analysis to complete", timeout=180)

    def shot(name: str, focus=None) -> None:  # type: ignore[no-untyped-def]
        screenshot(page, test_output_dir / f"feature-map-{name}.png", focus)

    page.goto(f"{studio.url}/features/analyses/{analysis['id']}")
    page.get_by_test_id("feature-map-link").click()
    expect(page.get_by_test_id("map-missing")).to_contain_text("No PCA map yet")
    page.get_by_test_id("map-compute").click()
    canvas = page.get_by_test_id("feature-map-canvas")
    expect(canvas).to_have_attribute("data-points", str(WIDTH), timeout=60_000)
    shot("1-pca")

    found = studio.client.get(f"/api/v1/analyses/{analysis['id']}/maps/pca").json()["data"]
    live = next(latent for latent in range(WIDTH) if not found["dead"][latent])

    def on_screen(latent: int) -> tuple[float, float]:  # the canvas is drawn scaled, wherever it is scrolled to
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box is not None
        x, y = _canvas_point(found, latent)
        return box["x"] + x * box["width"] / CANVAS[0], box["y"] + y * box["height"] / CANVAS[1]

    at = on_screen(live)
    page.mouse.move(*at)
    hover = page.get_by_test_id("feature-map-hover")
    expect(hover).to_contain_text("latent ")  # the nearest point: `live`, or one drawn on top of it
    hovered = int((hover.inner_text().split("latent ")[1]).split()[0])
    page.keyboard.down("Shift")
    page.mouse.click(*at)
    page.keyboard.up("Shift")
    expect(page.get_by_test_id("heatmap-latents")).to_have_value(str(hovered))
    partner = studio.client.get(f"/api/v1/analyses/{analysis['id']}/features/{hovered}").json()["data"]
    others = [item["latent"] for item in partner["correlations"]][:3]
    page.get_by_test_id("heatmap-latents").fill(", ".join(map(str, [hovered, *others])))
    expect(page.get_by_test_id("heatmap-cell-0-0")).to_have_text("1.00")
    if others:
        expect(page.get_by_test_id("heatmap-cell-0-1")).not_to_have_attribute("title", re.compile("not stored"))
    shot("2-heatmap", page.get_by_test_id("correlation-heatmap"))

    page.mouse.click(*on_screen(live))
    expect(page.get_by_test_id("feature-detail")).to_have_attribute("data-latent", str(hovered))
    shot("3-latent-opened")
