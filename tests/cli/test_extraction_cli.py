"""`mistudio extract …` as a user runs it, with no server running: the CLI runs the extraction job itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer

from mistudio.cli.extraction import parse_layers
from mistudio.lens import open_activations
from tests.support.cli_studio import D_MODEL, Studio, find_id


@pytest.fixture(scope="module")
def studio(cli_studio_template: Studio, tmp_path_factory: pytest.TempPathFactory) -> Studio:
    """This module's own copy of the CLI-made home (tiny llama, 40 lines tokenized to at most 16 tokens)."""
    return cli_studio_template.copy(tmp_path_factory.mktemp("home"))


def test_estimate_run_list_show_open_and_delete(studio: Studio) -> None:
    lengths = studio.lengths()
    samples, seq_len = 24, int(lengths[:24].max())
    request = [studio.model_id, *studio.source(), "--layers", "0-1", "--hooks", "resid_post,mlp_out",
               "--max-samples", str(samples), "--batch-size", "8"]

    estimated = studio.run("extract", "estimate", *request, "--json")
    assert estimated.returncode == 0, estimated.stderr + estimated.stdout
    estimate = json.loads(estimated.stdout)
    assert (estimate["samples"], estimate["seq_len"], estimate["d_model"]) == (samples, seq_len, D_MODEL)
    assert estimate["hook_points"] == ["blocks.0.resid_post", "blocks.0.mlp_out", "blocks.1.resid_post",
                                       "blocks.1.mlp_out"]
    assert estimate["storage_bytes"] == samples * seq_len * (D_MODEL * 4 * 4 + 1)  # 4 fp32 hook points + the mask
    assert estimate["can_start"] and estimate["seconds"] > 0

    ran = studio.run("extract", "run", *request, "--name", "cli-run")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    assert f"({estimate['storage_bytes']:,} bytes)" in ran.stdout  # the estimate comes first
    assert "running the job in this process" in ran.stdout and "status completed" in ran.stdout
    extraction_id = find_id(r"extraction ([0-9a-f]{32}): cli-run", ran.stdout)

    listed = studio.run("extract", "list", "--model", studio.model_id, "--json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)["items"]
    assert [(e["id"], e["status"], e["samples_done"]) for e in items] == [(extraction_id, "completed", samples)]

    shown = studio.run("extract", "show", extraction_id, "--json", "--stats")
    assert shown.returncode == 0, shown.stderr
    extraction = json.loads(shown.stdout)
    statistics = extraction["statistics"]
    assert list(statistics) == estimate["hook_points"]
    real_tokens = int(lengths[:samples].sum())
    for point in statistics.values():
        assert point["tokens"] == real_tokens and len(point["dim_mean"]) == len(point["dim_var"]) == D_MODEL
        assert point["mean_norm"] > 0 and point["max_abs"] > 0 and 0 <= point["sparsity"] <= 1
    text = studio.run("extract", "show", extraction_id, "--stats")
    assert "mean norm" in text.stdout and "max |x|" in text.stdout and "sparsity" in text.stdout

    activations = open_activations(extraction["path"])
    assert len(activations) == samples and activations.hook_points == estimate["hook_points"]
    for point in activations.hook_points:
        assert activations[point].shape == (samples, seq_len, D_MODEL)
    mask = np.asarray(activations.attention_mask)
    assert mask.shape == (samples, seq_len) and (mask.sum(axis=1) == lengths[:samples]).all()
    assert not np.asarray(activations["blocks.1.resid_post"])[mask == 0].any()  # padding is stored as 0

    on_disk = sum(p.stat().st_size for p in Path(extraction["path"]).rglob("*") if p.is_file())
    deleted = studio.run("extract", "delete", extraction_id, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert f"({on_disk:,} bytes)" in deleted.stdout and "freed" in deleted.stdout
    assert not Path(extraction["path"]).exists()


def test_bad_input_is_one_line_naming_the_option_and_its_range(studio: Studio) -> None:
    too_deep = studio.run("extract", "run", studio.model_id, *studio.source(), "--layers", "0,5")
    assert too_deep.returncode == 1
    assert len(too_deep.stderr.strip().splitlines()) == 1, too_deep.stderr
    assert "--layers" in too_deep.stderr and "layer 5" in too_deep.stderr and "0..1" in too_deep.stderr

    odd_batch = studio.run("extract", "estimate", studio.model_id, *studio.source(), "--layers", "1",
                           "--batch-size", "3")
    assert odd_batch.returncode == 1
    assert "--batch-size" in odd_batch.stderr and "power of 2 between 1 and 4096" in odd_batch.stderr
    assert "got 3" in odd_batch.stderr


def test_a_detached_run_can_be_cancelled_and_resumed(studio: Studio) -> None:
    queued = studio.run("extract", "run", studio.model_id, *studio.source(), "--layers", "1", "--max-samples", "4",
                        "--batch-size", "2", "--dtype", "fp16", "--no-calibrate", "--detach")
    assert queued.returncode == 0, queued.stderr + queued.stdout
    assert "time     not measured" in queued.stdout and "waits in the queue" in queued.stdout  # nothing runs it
    extraction_id = find_id(r"extraction ([0-9a-f]{32}): ", queued.stdout)

    cancelled = studio.run("extract", "cancel", extraction_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"{extraction_id}: cancelled" in cancelled.stdout
    assert f"mistudio extract resume {extraction_id}" in cancelled.stdout

    resumed = studio.run("extract", "resume", extraction_id)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert "resuming from its last completed batch" in resumed.stdout and "status completed" in resumed.stdout
    activations = open_activations(studio.home / "activations" / extraction_id)
    assert activations["blocks.1.resid_post"].dtype == np.float16
    assert activations["blocks.1.resid_post"].shape == (4, int(studio.lengths()[:4].max()), D_MODEL)


def test_layers_are_lists_and_ranges() -> None:
    assert parse_layers("3,15,29") == [3, 15, 29]
    assert parse_layers("3-6, 15") == [3, 4, 5, 6, 15]
    assert parse_layers("0") == [0]


@pytest.mark.parametrize("junk", ["", "a", "1-x", "-1", "3-", "1,,2", "2.5"])
def test_junk_layers_are_one_line_naming_the_option(junk: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as stopped:
        parse_layers(junk)
    assert stopped.value.exit_code == 2
    assert "--layers" in capsys.readouterr().err


def test_backwards_ranges_say_how_to_write_them(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        parse_layers("6-3")
    assert "write 3-6" in capsys.readouterr().err
