"""The Models page in Debian's Chromium against a live studio and the fake Hub:
preview → download (live progress) → ready → architecture viewer → delete, with a screenshot at each step."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mistudio.api import web_dist_dir
from tests.support.hub_fixtures import HfEnv, TinyModels
from tests.support.studio import StudioServer

pytestmark = pytest.mark.e2e

# The tiny llama's safetensors is ~0.5 MB: at this rate its download takes a few seconds, long enough to watch.
THROTTLE_BYTES_PER_SECOND = 120_000


@pytest.fixture
def hub_studio(hf_env: HfEnv, studio_home: Path, tmp_path: Path) -> Iterator[StudioServer]:
    """A live studio whose downloads go to the fake hub (and to this test's HF cache, with no token)."""
    if web_dist_dir() is None:
        pytest.skip("the web UI is not built: run `make web` (make test does)")
    server = StudioServer(
        studio_home, tmp_path / "server.log",
        HF_ENDPOINT=hf_env.url, HF_HOME=str(hf_env.home), HF_HUB_CACHE=str(hf_env.hub_cache),
        HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_OFFLINE="0", HF_HUB_DISABLE_UPDATE_CHECK="1",
    ).start()
    yield server
    server.stop()


def test_preview_download_inspect_and_delete_a_model(  # type: ignore[no-untyped-def]
    page, hub_studio: StudioServer, hf_env: HfEnv, tiny_models: TinyModels, test_output_dir: Path
) -> None:
    from playwright.sync_api import expect

    repo_id = tiny_models.publish(hf_env.hub, "llama", "tiny-e2e/llama-ui")

    def shot(name: str, focus=None) -> None:  # type: ignore[no-untyped-def]
        # The page scrolls inside <main>, so bring what the step is about into view first.
        if focus is not None:
            focus.scroll_into_view_if_needed()
        page.screenshot(path=str(test_output_dir / f"models-{name}.png"))

    page.goto(hub_studio.url)
    page.get_by_test_id("nav-models").click()
    expect(page.get_by_test_id("models-empty")).to_contain_text("No models yet")

    # The repo id is checked as it is typed, with the server's rule.
    repo_input = page.get_by_test_id("download-repo-id")
    repo_input.fill("not a repo")
    repo_input.blur()
    expect(page.get_by_test_id("download-repo-id-error")).to_contain_text("owner/name")
    expect(page.get_by_test_id("preview-button")).to_be_disabled()
    shot("1-invalid-repo-id")

    repo_input.fill(repo_id)
    expect(page.get_by_test_id("download-repo-id-error")).to_have_count(0)
    page.get_by_test_id("preview-button").click()
    card = page.get_by_test_id("preview-card")
    expect(card).to_be_visible(timeout=20_000)
    expect(card.get_by_test_id("preview-family")).to_contain_text("llama")
    expect(card.get_by_test_id("preview-params")).to_contain_text(re.compile(r"\d[\d.]*K"))
    expect(card.get_by_test_id("preview-license")).to_contain_text("apache-2.0")
    for fmt in ("fp32", "fp16", "bf16", "q8", "q4", "q2"):
        option = card.get_by_test_id(f"preview-formats-{fmt}")
        expect(option).to_be_visible()
        expect(option).to_have_attribute("data-fit", re.compile("green|yellow|red"))
    shot("2-preview")

    hf_env.hub.throttle(THROTTLE_BYTES_PER_SECOND, "*.safetensors")
    page.get_by_test_id("download-button").click()
    model_card = page.locator("[data-testid^='model-card-']").first
    expect(model_card).to_be_visible()
    model_id = model_card.get_attribute("data-model-id")
    assert model_id
    bytes_text = model_card.get_by_test_id(f"model-progress-{model_id}-bytes")
    expect(bytes_text).to_contain_text(re.compile(r"\d.* / .*\d"), timeout=15_000)  # live bytes done / total
    expect(model_card.get_by_test_id(f"model-cancel-{model_id}")).to_be_visible()
    shot("3-downloading", model_card)

    expect(model_card).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(model_card.get_by_test_id(f"model-progress-{model_id}")).to_have_count(0)
    shot("4-ready", model_card)

    model_card.get_by_test_id(f"model-open-{model_id}").click()
    expect(page.get_by_test_id("model-detail")).to_have_attribute("data-status", "completed")

    # Load it as a variant: the format picker shows estimates, the variant its measured footprint.
    page.get_by_test_id("quantize-open").click()
    quantize = page.get_by_test_id("quantize-dialog")
    expect(quantize.get_by_test_id("quantize-formats-fp32")).to_be_visible(timeout=10_000)
    quantize.get_by_test_id("quantize-formats-fp32").click()
    shot("5-quantize-dialog")
    quantize.get_by_test_id("quantize-submit").click()
    variants = page.get_by_test_id("variants-table")
    variant_row = variants.locator("[data-testid^='variant-row-']").first
    expect(variant_row).to_contain_text("FP32")
    expect(variant_row.locator("[data-status]").first).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(variant_row).to_contain_text(re.compile(r"\d+(\.\d+)? KB"))
    shot("6-variant-ready", page.get_by_test_id("variants-panel"))

    viewer = page.get_by_test_id("architecture-viewer")
    expect(viewer.get_by_test_id("arch-num-layers")).to_contain_text("2")
    expect(viewer.get_by_test_id("arch-layer-0-hooks")).to_contain_text("blocks.0.resid_pre")
    viewer.get_by_test_id("arch-layer-1-toggle").click()
    expect(viewer.get_by_test_id("arch-layer-1-hooks")).to_contain_text("blocks.1.mlp_out")
    viewer.get_by_test_id("arch-config").locator("summary").click()
    expect(viewer.get_by_test_id("arch-config-json")).to_contain_text('"model_type": "llama"')
    shot("7-architecture", viewer.get_by_test_id("arch-layers"))

    page.get_by_test_id(f"model-delete-{model_id}").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog.get_by_test_id("delete-model-bytes")).to_contain_text(re.compile(r"\d+(\.\d+)? (KB|MB)"))
    shot("8-delete-confirm")
    dialog.get_by_test_id("confirm-dialog-confirm").click()

    expect(page.get_by_test_id("models-page")).to_be_visible()
    expect(page.get_by_test_id(f"model-card-{model_id}")).to_have_count(0)
    expect(page.get_by_test_id("toast").filter(has_text="Freed")).to_be_visible()
    shot("9-deleted", page.get_by_test_id("models-empty"))
    assert hub_studio.client.get(f"/api/v1/models/{model_id}").status_code == 404
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_import_from_disk_flags_an_incompatible_model_and_compares_two(  # type: ignore[no-untyped-def]
    page, hub_studio: StudioServer, tiny_models: TinyModels, test_output_dir: Path
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{hub_studio.url}/models")
    for family, mode in (("llama", "copy"), ("gpt2", "link"), ("bert", "copy")):
        page.get_by_test_id("import-open").click()
        dialog = page.get_by_test_id("import-dialog")
        dialog.get_by_test_id("import-path").fill(str(tiny_models(family)))
        dialog.get_by_test_id(f"import-mode-{mode}").check()
        dialog.get_by_test_id("import-name").fill(f"imported-{family}")
        if family == "llama":
            page.screenshot(path=str(test_output_dir / "models-import-dialog.png"))
        dialog.get_by_test_id("import-submit").click()
        expect(dialog).to_have_count(0)

    cards = {
        family: page.locator("[data-testid^='model-card-']", has_text=f"imported-{family}")
        for family in ("llama", "gpt2", "bert")
    }
    for family in ("llama", "gpt2"):
        expect(cards[family]).to_have_attribute("data-status", "completed", timeout=30_000)
    bert = cards["bert"]
    # Its import completed; the badge says what that brought: files that cannot be loaded.
    expect(bert).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(bert.locator("[data-testid^='model-status-']")).to_have_attribute("data-status", "incompatible")
    reason = bert.locator("[data-testid^='model-message-']")
    expect(reason).to_contain_text(re.compile("causal", re.I))  # says why: not a causal LM
    page.screenshot(path=str(test_output_dir / "models-imported.png"))

    ids = {family: cards[family].get_attribute("data-model-id") for family in ("llama", "gpt2")}
    page.get_by_test_id("compare-open").click()
    page.get_by_test_id("compare-a").select_option(ids["llama"])
    page.get_by_test_id("compare-b").select_option(ids["gpt2"])
    result = page.get_by_test_id("compare-result")
    expect(result.get_by_test_id("compare-config")).to_contain_text("model_type")
    expect(result.get_by_test_id("compare-layers")).to_have_attribute("data-differs", re.compile("true|false"))
    page.screenshot(path=str(test_output_dir / "models-compare.png"))
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_download_survives_a_reload_is_cancelled_and_retried(  # type: ignore[no-untyped-def]
    page, hub_studio: StudioServer, hf_env: HfEnv, tiny_models: TinyModels, test_output_dir: Path
) -> None:
    from playwright.sync_api import expect

    repo_id = tiny_models.publish(hf_env.hub, "llama", "tiny-e2e/llama-cancel")
    hf_env.hub.throttle(20_000, "*.safetensors")  # ~30 s for the weights: plenty of time to reload and cancel
    page.goto(f"{hub_studio.url}/models")
    page.get_by_test_id("download-repo-id").fill(repo_id)
    page.get_by_test_id("download-button").click()
    card = page.locator("[data-testid^='model-card-']").first
    model_id = card.get_attribute("data-model-id")
    expect(card.get_by_test_id(f"model-progress-{model_id}-bytes")).to_be_visible(timeout=15_000)

    # REST alone renders it after a reload: still downloading, with its progress and its cancel button.
    page.reload()
    card = page.get_by_test_id(f"model-card-{model_id}")
    expect(card).to_have_attribute("data-status", "running")
    expect(card.get_by_test_id(f"model-progress-{model_id}")).to_be_visible()
    card.get_by_test_id(f"model-cancel-{model_id}").click()
    page.get_by_test_id("confirm-dialog-confirm").click()
    expect(card).to_have_attribute("data-status", "cancelled", timeout=15_000)
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(test_output_dir / "models-cancelled.png"))

    hf_env.hub.throttle(None)
    card.get_by_test_id(f"model-retry-{model_id}").click()
    expect(card).to_have_attribute("data-status", "completed", timeout=30_000)
    page.screenshot(path=str(test_output_dir / "models-retried.png"))
    assert page.console_errors == []  # type: ignore[attr-defined]
