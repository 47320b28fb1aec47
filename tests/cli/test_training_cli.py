"""`mistudio train …` as a user runs it: with no server the CLI runs the training itself; with one, it follows."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli_studio import Studio, find_id, mistudio
from tests.support.studio import StudioServer, studio_env, wait_until

HOOK = "blocks.1.resid_post"
# Finishes in seconds on the tiny llama: 40 steps of 64 tokens, 4 × 64 latents, 8 active.
FAST = ["--hook-point", HOOK, "--expansion-factor", "4", "--k", "8", "--lr", "1e-3", "--steps", "40",
        "--batch-tokens", "64", "--log-every", "10"]


@pytest.fixture(scope="module")
def studio(cli_studio_template: Studio, tmp_path_factory: pytest.TempPathFactory) -> Studio:
    """This module's own copy of the CLI-made home (tiny llama, 40 lines tokenized to at most 16 tokens)."""
    return cli_studio_template.copy(tmp_path_factory.mktemp("home"))


@dataclass(frozen=True)
class Trained:
    training_id: str
    sae_id: str
    stdout: str


@pytest.fixture(scope="module")
def extraction_id(studio: Studio) -> str:  # noqa: F811
    ran = studio.run("extract", "run", studio.model_id, *studio.source(), "--layers", "1", "--hooks", "resid_post",
                     "--batch-size", "8", "--no-calibrate")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    return find_id(r"extraction ([0-9a-f]{32}): ", ran.stdout)


@pytest.fixture(scope="module")
def trained(studio: Studio, extraction_id: str) -> Trained:  # noqa: F811
    """One run made and followed by `train run` (an extraction id prefix, as a user types it)."""
    ran = studio.run("train", "run", extraction_id[:8], *FAST, "--name", "cli-run")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    training_id = find_id(r"training ([0-9a-f]{32}): cli-run", ran.stdout)
    return Trained(training_id, find_id(r"SAE\(s\): ([0-9a-f]{32})", ran.stdout), ran.stdout)


def test_run_follows_the_metrics_table_until_it_completes(trained: Trained) -> None:
    out = trained.stdout
    assert "running the job in this process" in out  # no server: the CLI ran it
    header = next(line for line in out.splitlines() if "loss" in line and "FVU" in line)
    for column in ("step", "L0", "dead %", "lr", "tokens/s"):
        assert column in header
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│") and "loss" not in line]
    assert rows == ["10", "20", "30", "40"]  # each logged step once (the last is logged twice by the loop)
    assert f"training {trained.training_id} completed: step 40 of 40" in out
    assert "trained 1 SAE(s) for 40 steps" in out


def test_show_list_and_checkpoints_of_a_run(studio: Studio, trained: Trained) -> None:  # noqa: F811
    shown = studio.run("train", "show", trained.training_id[:8])
    assert shown.returncode == 0, shown.stderr
    assert "status completed" in shown.stdout and "step 40 of 40 × 64 tokens" in shown.stdout
    assert "CE recovered" in shown.stdout and "topk" in shown.stdout
    assert f"SAE(s): {trained.sae_id}" in shown.stdout
    row = next(line for line in shown.stdout.splitlines() if trained.sae_id in line and "│" in line)
    assert "256" in row and "1.00e-03" in row  # width 4 × 64 and the lr

    listed = studio.run("train", "list")
    assert listed.returncode == 0 and trained.training_id[:8] in listed.stdout and "40/40" in listed.stdout
    checkpoints = studio.run("train", "checkpoints", trained.training_id)
    assert checkpoints.returncode == 0 and "40" in checkpoints.stdout and "checkpoint(s)" in checkpoints.stdout


def test_export_writes_the_saelens_folder_and_refuses_a_non_empty_dest(studio: Studio, trained: Trained,  # noqa: F811
                                                                        tmp_path: Path) -> None:
    dest = tmp_path / "exported"
    exported = studio.run("train", "saes", "export", trained.sae_id[:8], str(dest))
    assert exported.returncode == 0, exported.stderr
    assert (dest / "cfg.json").is_file() and (dest / "sae_weights.safetensors").is_file()
    config = json.loads((dest / "cfg.json").read_text())
    assert (config["architecture"], config["d_in"], config["d_sae"], config["k"]) == ("topk", 64, 256, 8)

    again = studio.run("train", "saes", "export", trained.sae_id, str(dest))
    assert again.returncode == 1 and "not empty" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1

    # A relative path is the user's: it is resolved against where they run the command.
    imported = mistudio("train", "saes", "import", "exported", "--name", "theirs", "--model", studio.model_id[:8],
                        home=studio.home, cwd=tmp_path, MISTUDIO_PORT=studio.port)
    assert imported.returncode == 0, imported.stderr
    assert f"imported from {dest}" in imported.stdout
    assert "theirs" in imported.stdout and "imported topk, d_in 64, width 256, k 8" in imported.stdout
    assert "model llama" in imported.stdout  # the tiny llama it was trained on


def test_a_k_larger_than_the_width_is_the_servers_message_and_exit_1(studio: Studio,  # noqa: F811
                                                                     extraction_id: str) -> None:
    refused = studio.run("train", "run", extraction_id, "--hook-point", HOOK, "--width", "16", "--k", "32",
                         "--batch-tokens", "64")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: saes[0].k (32) is larger than the width (16 latents); choose k from 1 to 16"]


@pytest.mark.parametrize(("options", "message"), [
    (["--sweep", "q=1,2"], "--sweep: expected FIELD=V1,V2"),
    (["--sweep", "k=4,0"], "--sweep k=0:"),
    (["--sae", "{k: 4}"], "--sae: not valid JSON"),
    (["--steps", "5", "--tokens", "640"], "--steps and --tokens"),
])
def test_bad_options_are_one_line_naming_the_option(studio: Studio, extraction_id: str,  # noqa: F811
                                                    options: list[str], message: str) -> None:
    refused = studio.run("train", "run", extraction_id, "--hook-point", HOOK, *options)
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and message in refused.stderr, refused.stderr


def test_run_streams_from_the_model_with_no_extraction(studio: Studio) -> None:  # noqa: F811
    """--model, --dataset and --tokenization (prefixes, as typed) stream the activations: only the SAEs are stored.
    A sweep over two hook points trains an SAE on each from the same forward passes."""
    activations = studio.home / "activations"
    before = sorted(activations.iterdir()) if activations.exists() else []
    ran = studio.run("train", "run", "--model", studio.model_id[:8], "--dataset", studio.dataset_id[:8],
                     "--tokenization", studio.tokenization_id[:8], "--forward-batch-size", "4", *FAST,
                     "--sweep", "hook-point=blocks.0.resid_post,blocks.1.resid_post", "--name", "cli-stream",
                     timeout=300)
    assert ran.returncode == 0, ran.stderr + ran.stdout
    training_id = find_id(r"training ([0-9a-f]{32}): cli-stream: 2 SAE\(s\)", ran.stdout)
    assert f"training {training_id} completed: step 40 of 40" in ran.stdout
    rows = [[cell.strip() for cell in line.split("│")[1:3]] for line in ran.stdout.splitlines()
            if line.startswith("│") and "loss" not in line]
    assert rows == [[step, member] for step in ("10", "20", "30", "40") for member in ("0", "1")]
    assert (sorted(activations.iterdir()) if activations.exists() else []) == before  # no disk cache

    shown = studio.run("train", "show", training_id, "--json")
    training = json.loads(shown.stdout)
    assert (training["source"], training["extraction_id"], training["dataset_id"], training["tokenization_id"],
            training["format"]) == ("stream", None, studio.dataset_id, studio.tokenization_id, "fp32")
    assert training["settings"]["forward_batch_size"] == 4 and training["d_in"] == 64
    assert all("model_ce_recovered" in values for values in training["final_metrics"])  # as a stored run's
    text = studio.run("train", "show", training_id[:8]).stdout
    assert f"streamed (fp32) from dataset {studio.dataset_id}, tokenization {studio.tokenization_id}" in text
    assert f"blocks.0.resid_post, {HOOK}, d_in 64" in text
    assert [line.count("blocks.0.resid_post") for line in text.splitlines() if "│ 0 " in line] == [1]  # its row
    saes = json.loads(studio.run("train", "saes", "list", "--training", training_id, "--json").stdout)
    assert sorted((sae["hook_point"], sae["d_sae"], sae["k"]) for sae in saes["items"]) == [
        ("blocks.0.resid_post", 256, 8), (HOOK, 256, 8)]


def test_a_streamed_run_refused_by_the_server_is_its_message_and_exit_1(studio: Studio) -> None:  # noqa: F811
    stream = ["--model", studio.model_id, *studio.source()]
    refused = studio.run("train", "run", *stream, "--hook-point", "blocks.7.resid_post")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: layer 7 is out of range: this model has 2 layers (0..1)"]
    refused = studio.run("train", "run", *stream, "--hook-point", HOOK, "--forward-batch-size", "3")
    assert refused.returncode == 1 and "batch_size must be a power of 2" in refused.stderr


@pytest.mark.parametrize(("source", "message"), [
    ([], "give EXTRACTION_ID (train on stored activations) or --model"),
    (["EXTRACTION", "--model", "MODEL", "--dataset", "D", "--tokenization", "T"], "not both"),
    (["--model", "MODEL", "--dataset", "D"], "--model streams from the model: give --dataset and --tokenization"),
    (["EXTRACTION", "--tokenization", "T", "--format", "q8"], "--tokenization, --format: only for a streamed run"),
])
def test_a_source_given_twice_or_half_is_one_usage_line(studio: Studio, extraction_id: str,  # noqa: F811
                                                        source: list[str], message: str) -> None:
    typed = [extraction_id if part == "EXTRACTION" else studio.model_id if part == "MODEL" else part
             for part in source]
    refused = studio.run("train", "run", *typed, "--hook-point", HOOK)
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and message in refused.stderr, refused.stderr


@pytest.fixture
def server(studio: Studio, tmp_path: Path) -> Iterator[StudioServer]:  # noqa: F811
    """`mistudio serve` on the module's home (the last test: the other tests run their jobs in the CLI)."""
    running = StudioServer(studio.home, tmp_path / "server.log").start()
    yield running
    running.stop()


def test_ctrl_c_stops_following_a_sweep_the_server_runs_and_stop_keeps_both_saes(
        studio: Studio, extraction_id: str, server: StudioServer) -> None:  # noqa: F811
    command = [sys.executable, "-m", "mistudio", "train", "run", extraction_id, "--hook-point", HOOK,
               "--expansion-factor", "4", "--sweep", "k=4,8", "--steps", "100000", "--batch-tokens", "64",
               "--log-every", "5", "--no-evaluate"]
    following = subprocess.Popen(command, env=studio_env(studio.home, COLUMNS="200", MISTUDIO_PORT=str(server.port)),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def running_training() -> dict | None:
            found = server.client.get("/api/v1/trainings", params={"status": "running"}).json()["data"]
            return found[0] if found and found[0]["steps_done"] >= 10 else None

        try:
            training = wait_until(running_training, timeout=90, what="the sweep to log 10 steps")
        except TimeoutError:
            following.kill()
            raise AssertionError("the run never logged 10 steps:\n" + "\n".join(following.communicate())) from None
        following.send_signal(signal.SIGINT)
        out, err = following.communicate(timeout=30)
    finally:
        following.kill()
    assert following.returncode == 130, err
    assert "stopped following; the training goes on in the server" in err
    assert f"mistudio train watch {training['id']}" in err
    header = next(line for line in out.splitlines() if "loss" in line and "FVU" in line)
    assert "SAE" in header  # a sweep: one row per SAE and step
    assert "no miStudio server is running" not in out
    assert server.client.get(f"/api/v1/trainings/{training['id']}").json()["data"]["status"] == "running"

    stopped = studio.run("train", "stop", training["id"][:8])
    assert stopped.returncode == 0, stopped.stderr
    assert "stop requested" in stopped.stdout
    watched = mistudio("train", "watch", training["id"], home=studio.home, MISTUDIO_PORT=str(server.port))
    assert watched.returncode == 0, watched.stderr + watched.stdout
    assert "stopped early at step" in watched.stdout and "SAE(s): " in watched.stdout
    saes = json.loads(studio.run("train", "saes", "list", "--training", training["id"], "--json").stdout)
    assert saes["total"] == 2 and sorted(sae["k"] for sae in saes["items"]) == [4, 8]
