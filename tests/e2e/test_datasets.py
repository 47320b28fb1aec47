"""The Datasets page in Debian's Chromium against a live studio: the Shakespeare example, browser uploads
(.txt, .jsonl, .csv, .parquet, and one over the upload limit), samples with search, tokenization with a live preview,
statistics charts, and delete — with a screenshot at each step in test-output/."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from mistudio.api import web_dist_dir
from tests.support.assets import assets_cache_dir
from tests.support.hub_fixtures import TinyModels
from tests.support.studio import StudioServer, wait_until

pytestmark = pytest.mark.e2e

UPLOAD_LIMIT = 64 * 1024  # small, so one test file can go over it


@pytest.fixture
def datasets_studio(studio_home: Path, tmp_path: Path) -> Iterator[StudioServer]:
    """A live studio with a small upload limit, reading the example corpora from the tests' asset cache."""
    if web_dist_dir() is None:
        pytest.skip("the web UI is not built: run `make web` (make test does)")
    server = StudioServer(
        studio_home, tmp_path / "server.log",
        MISTUDIO_UPLOAD_MAX_BYTES=str(UPLOAD_LIMIT),
        MISTUDIO_EXAMPLES_DIR=os.environ.get("MISTUDIO_EXAMPLES_DIR", str(assets_cache_dir())),
    ).start()
    yield server
    server.stop()


def _text_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    lines = folder / "sonnets.txt"
    lines.write_text("".join(f"Line {i}: shall I compare thee to a summer's day, number {i}?\n" for i in range(120)))
    rows = folder / "reviews.jsonl"
    reviews = [{"id": i, "text": f"Review {i}: a thoughtful film about memory and loss."} for i in range(40)]
    rows.write_text("".join(json.dumps(review) + "\n" for review in reviews))
    big = folder / "too-big.txt"
    big.write_text("All the world's a stage.\n" * (2 * UPLOAD_LIMIT // 24))
    table = pa.table({"text": [review["text"] for review in reviews], "stars": [i % 5 for i in range(40)]})
    csv, parquet = folder / "reviews.csv", folder / "reviews.parquet"
    pa_csv.write_csv(table, csv)
    pq.write_table(table, parquet)
    return {"txt": lines, "jsonl": rows, "csv": csv, "parquet": parquet, "big": big}


def _import_model(studio: StudioServer, folder: Path) -> str:
    body = {"path": str(folder), "mode": "copy", "name": "tiny-llama"}
    response = studio.client.post("/api/v1/models/import", json=body)
    assert response.status_code == 202, response.text
    return response.json()["data"]["id"]


def _dataset(studio: StudioServer, dataset_id: str) -> dict[str, Any]:
    response = studio.client.get(f"/api/v1/datasets/{dataset_id}")
    response.raise_for_status()
    return response.json()["data"]


def test_example_uploads_samples_tokenization_and_statistics(  # type: ignore[no-untyped-def]
    page, datasets_studio: StudioServer, tiny_models: TinyModels, test_output_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    studio = datasets_studio
    files = _text_files(tmp_path / "uploads")
    model_id = _import_model(studio, tiny_models("llama"))  # its tokenizer is needed later; imports meanwhile

    def shot(name: str, focus=None, toasts: bool = False) -> None:  # type: ignore[no-untyped-def]
        # Toasts would cover the bottom right; the page scrolls inside <main>, so bring the step into view.
        dismiss = page.get_by_label("Dismiss notification")
        while not toasts and dismiss.count():
            try:
                dismiss.first.click(timeout=1000)
            except PlaywrightTimeout:  # it went away on its own meanwhile
                pass
        page.mouse.move(0, 0)
        if focus is not None:
            focus.scroll_into_view_if_needed()
        page.screenshot(path=str(test_output_dir / f"datasets-{name}.png"))

    page.goto(studio.url)
    page.get_by_test_id("nav-datasets").click()
    expect(page.get_by_test_id("datasets-empty")).to_contain_text("No datasets yet")
    shot("1-empty")

    # One click: Shakespeare, imported from the example corpus as a job with live progress.
    page.get_by_test_id("add-example").click()
    example = page.locator("[data-testid^='dataset-card-']", has_text="Shakespeare")
    expect(example).to_be_visible()
    example_id = example.get_attribute("data-dataset-id")
    assert example_id

    # Meanwhile, uploads from the browser: a .txt (one document per line) and a .jsonl.
    page.get_by_test_id("upload-open").click()
    dialog = page.get_by_test_id("upload-dialog")
    dialog.get_by_test_id("upload-files").set_input_files(str(files["txt"]))
    expect(dialog.get_by_test_id("upload-file-list")).to_contain_text("sonnets.txt")
    dialog.get_by_test_id("upload-txt-mode-line").check()
    dialog.get_by_test_id("upload-name").fill("sonnet lines")
    shot("2-upload-dialog")
    dialog.get_by_test_id("upload-submit").click()
    expect(dialog).to_have_count(0)
    txt_card = page.locator("[data-testid^='dataset-card-']", has_text="sonnet lines")
    expect(txt_card).to_be_visible()

    page.get_by_test_id("upload-open").click()
    dialog.get_by_test_id("upload-files").set_input_files(str(files["jsonl"]))
    dialog.get_by_test_id("upload-submit").click()
    expect(dialog).to_have_count(0)
    jsonl_card = page.locator("[data-testid^='dataset-card-']", has_text="reviews.jsonl")
    expect(jsonl_card).to_be_visible()

    # A .csv and a .parquet the same way: each becomes a ready dataset with every row.
    for kind in ("csv", "parquet"):
        page.get_by_test_id("upload-open").click()
        dialog.get_by_test_id("upload-files").set_input_files(str(files[kind]))
        dialog.get_by_test_id("upload-submit").click()
        expect(dialog).to_have_count(0)
        expect(page.locator("[data-testid^='dataset-card-']", has_text=files[kind].name)).to_be_visible()

    def uploaded_tables_ready() -> bool:
        listed = {d["name"]: d for d in studio.client.get("/api/v1/datasets").json()["data"]}
        return all(listed[name]["status"] == "completed" and listed[name]["num_rows"] == 40
                   for name in ("reviews.csv", "reviews.parquet"))

    wait_until(uploaded_tables_ready, timeout=60, what="the uploaded .csv and .parquet to be imported")

    # Over the upload limit: the server's 413 message, in the dialog.
    page.get_by_test_id("upload-open").click()
    dialog.get_by_test_id("upload-files").set_input_files(str(files["big"]))
    dialog.get_by_test_id("upload-submit").click()
    expect(dialog.get_by_test_id("upload-error")).to_contain_text("MISTUDIO_UPLOAD_MAX_BYTES", timeout=15_000)
    expect(dialog.get_by_test_id("upload-error")).to_contain_text("413")
    shot("3-upload-too-large")
    dialog.get_by_test_id("upload-cancel").click()

    for card in (txt_card, jsonl_card):
        expect(card).to_have_attribute("data-status", "completed", timeout=30_000)
    txt_id, jsonl_id = txt_card.get_attribute("data-dataset-id"), jsonl_card.get_attribute("data-dataset-id")
    expect(txt_card.get_by_test_id(f"dataset-rows-{txt_id}")).to_have_text("120")
    expect(jsonl_card.get_by_test_id(f"dataset-rows-{jsonl_id}")).to_have_text("40")
    if example.get_attribute("data-status") != "completed":
        shot("4-example-importing", example)
    expect(example).to_have_attribute("data-status", "completed", timeout=60_000)
    shot("5-list-ready")

    # The list filters by name.
    page.get_by_test_id("datasets-search").fill("sonnet")
    expect(page.locator("[data-testid^='dataset-card-']")).to_have_count(1)
    page.get_by_test_id("datasets-search").fill("")
    expect(page.locator("[data-testid^='dataset-card-']")).to_have_count(5)  # Shakespeare and four uploads

    # Detail: overview, then samples with full-text search.
    page.get_by_test_id(f"dataset-open-{example_id}").click()
    detail = page.get_by_test_id("dataset-detail")
    expect(detail).to_have_attribute("data-status", "completed")
    expect(page.get_by_test_id("dataset-splits")).to_contain_text("train")
    shot("6-overview")

    page.get_by_test_id("dataset-tab-samples").click()
    expect(page.get_by_test_id("samples-list").locator("li").first).to_be_visible()
    page.get_by_test_id("samples-search").fill("wherefore")
    expect(page.get_by_test_id("samples-range")).to_contain_text("matches", timeout=10_000)
    first = page.get_by_test_id("samples-list").locator("li").first
    expect(first.locator("mark").first).to_have_text(re.compile("wherefore", re.I))
    first.locator("[data-testid^='sample-toggle-']").click()
    expect(first.get_by_test_id("sample-raw-text")).to_contain_text(re.compile("wherefore", re.I))
    shot("7-samples-search")

    # Tokenization: pick the model, watch the preview follow the settings, start it and watch it finish.
    wait_until(lambda: studio.client.get(f"/api/v1/models/{model_id}").json()["data"]["ready"],
               timeout=60, interval=0.5, what="the tiny llama to be imported")
    page.get_by_test_id("dataset-tab-tokenization").click()
    page.get_by_test_id("tokenize-model").select_option(model_id)
    page.get_by_test_id("tokenize-max-length").fill("48")
    preview = page.get_by_test_id("tokenize-preview")
    expect(preview.get_by_test_id("tokenize-preview-tokens-0")).to_be_visible(timeout=20_000)
    expect(preview).to_have_attribute("data-state", "ready", timeout=20_000)
    expect(preview.get_by_test_id("tokenize-estimate-sequences")).to_contain_text(re.compile(r"\d"))
    assert int(preview.get_by_test_id("tokenize-preview-tokens-0").get_attribute("data-count") or 0) > 1
    page.get_by_test_id("tokenize-show-ids").check()
    shot("8-tokenize-preview")

    page.get_by_test_id("tokenize-start").click()
    row = page.locator("[data-testid^='tokenization-row-']").first
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-status", re.compile("queued|running|completed"))
    if row.get_attribute("data-status") != "completed":
        expect(row.locator("[data-testid$='-rows']")).to_be_visible(timeout=20_000)  # live rows done / total
        shot("9-tokenizing", row)
    try:
        percent_done = int(row.get_by_role("progressbar").get_attribute("aria-valuenow", timeout=1000) or 100)
    except PlaywrightTimeout:  # finished already
        percent_done = 100
    if percent_done < 50:  # time enough left to try a delete while the job runs
        # Deleting the dataset while its tokenization runs: refused (409), and the page says why.
        page.get_by_test_id(f"dataset-delete-{example_id}").click()
        confirm = page.get_by_test_id("confirm-dialog")
        expect(confirm.get_by_test_id("delete-dataset-busy")).to_be_visible()
        confirm.get_by_test_id("confirm-dialog-confirm").click()
        refused = page.get_by_test_id("toast").filter(has_text="in use and was not deleted")
        expect(refused).to_contain_text("cancel it first")
        shot("9b-delete-refused", toasts=True)
        expect(detail).to_have_attribute("data-status", "completed")
    expect(row).to_have_attribute("data-status", "completed", timeout=90_000)
    expect(row).to_contain_text(re.compile(r"\d{1,3}(,\d{3})+"))  # sequences and tokens, counted
    # The same settings again would be refused by the server: the form says so before.
    expect(page.get_by_test_id("tokenize-duplicate")).to_contain_text("Already tokenized")
    expect(page.get_by_test_id("tokenize-start")).to_be_disabled()
    shot("10-tokenized", page.get_by_test_id("tokenizations"))

    # Statistics: numbers and both charts.
    row.locator("[data-testid^='tokenization-stats-']").click()
    stats = page.get_by_test_id("statistics-view")
    expect(stats).to_be_visible(timeout=10_000)
    tokenization = _dataset(studio, example_id)["tokenizations"][0]
    expect(stats.get_by_test_id("stat-sequences")).to_contain_text(f"{tokenization['num_sequences']:,}")
    expect(stats.get_by_test_id("stat-coverage")).to_contain_text("%")
    expect(stats.get_by_test_id("chart-length-histogram").locator(".recharts-bar-rectangle").first).to_be_visible()
    expect(stats.get_by_test_id("chart-top-tokens").locator(".recharts-bar-rectangle")).to_have_count(
        len(tokenization["statistics"]["top_tokens"]))
    shot("11-statistics")

    # A sample, now with its tokens under the new tokenization.
    page.get_by_test_id("dataset-tab-samples").click()
    first = page.get_by_test_id("samples-list").locator("li").first
    first.locator("[data-testid^='sample-toggle-']").click()
    expect(first.get_by_test_id("sample-tokens-0")).to_be_visible(timeout=10_000)
    shot("12-sample-tokens")

    # Delete the .jsonl dataset: the confirmation says what is freed, the toast what was.
    page.get_by_test_id("dataset-detail-back").click()
    page.get_by_test_id(f"dataset-delete-{jsonl_id}").click()
    confirm = page.get_by_test_id("confirm-dialog")
    expect(confirm.get_by_test_id("delete-dataset-bytes")).to_contain_text(re.compile(r"\d+(\.\d+)? (B|KB|MB)"))
    shot("13-delete-confirm")
    confirm.get_by_test_id("confirm-dialog-confirm").click()
    expect(page.get_by_test_id(f"dataset-card-{jsonl_id}")).to_have_count(0)
    expect(page.get_by_test_id("toast").filter(has_text="Freed")).to_be_visible()
    shot("14-deleted")
    assert studio.client.get(f"/api/v1/datasets/{jsonl_id}").status_code == 404
    # The expected errors: Chromium logs the refused upload (413) and the refused delete (409).
    assert [e for e in page.console_errors if "413" not in e and "409" not in e] == []  # type: ignore[attr-defined]
