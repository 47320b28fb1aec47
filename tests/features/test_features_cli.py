"""`mistudio features …` as a user runs it: with no server the CLI runs the analysis itself, then browses and labels
it (the key from the environment reaches the endpoint, the labels and scores are printed, and a missing LLM is one
line naming the options). One module, so the SAE and its analysis are made once."""

from __future__ import annotations

import json

import pytest

from tests.features.test_labels_api import FakeLLM, llm_endpoint  # noqa: F401 (the fixture)
from tests.support.cli_studio import Studio, find_id, mistudio

HOOK = "blocks.1.resid_post"
KEY = "sk-cli-env-key-5512"
pytestmark = pytest.mark.timeout(900)  # trains and analyses this module's SAE first, on a shared CPU


@pytest.fixture(scope="module")
def studio(cli_studio_template: Studio, tmp_path_factory: pytest.TempPathFactory) -> Studio:
    """This module's own copy of the CLI-made home (tiny llama, 40 lines tokenized to at most 16 tokens)."""
    return cli_studio_template.copy(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def analysis_id(studio: Studio) -> str:
    trained = studio.run("train", "run", "--model", studio.model_id, *studio.source(), "--hook-point", HOOK,
                         "--expansion-factor", "1", "--k", "4", "--steps", "20", "--batch-tokens", "64",
                         "--log-every", "10", "--name", "cli-features", timeout=300)
    assert trained.returncode == 0, trained.stderr + trained.stdout
    sae_id = find_id(r"SAE\(s\): ([0-9a-f]{32})", trained.stdout)
    ran = studio.run("features", "analyze", sae_id[:8], *studio.source(), "--top-k", "3", "--context", "2",
                     timeout=300)
    assert ran.returncode == 0, ran.stderr + ran.stdout
    assert "running the job in this process" in ran.stdout and "analysed 64 latents over" in ran.stdout
    return find_id(r"analysis ([0-9a-f]{32}): ", ran.stdout)


def test_list_sorts_like_the_api_and_show_prints_a_latent(studio: Studio, analysis_id: str) -> None:
    listed = studio.run("features", "list", analysis_id[:8], "--sort", "frequency", "--limit", "200", "--json")
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert found["total"] == 64
    frequencies = [item["frequency"] for item in found["items"]]
    assert frequencies == sorted(frequencies, reverse=True)
    busiest = found["items"][0]
    shown = studio.run("features", "show", analysis_id[:8], str(busiest["latent"]))
    assert shown.returncode == 0, shown.stderr
    assert f"latent {busiest['latent']}" in shown.stdout and "promotes" in shown.stdout
    table = studio.run("features", "list", analysis_id, "--sort", "max_activation")
    assert table.returncode == 0 and "of 64 latent(s)" in table.stdout


def test_bad_options_are_one_line_naming_them(studio: Studio, analysis_id: str) -> None:
    bad_sort = studio.run("features", "list", analysis_id, "--sort", "loudness")
    assert bad_sort.returncode == 2 and "--sort must be one of" in bad_sort.stderr
    out_of_range = studio.run("features", "show", analysis_id, "64")
    assert out_of_range.returncode == 1 and "0 to 63" in out_of_range.stderr


def test_map_runs_the_job_with_a_bar_and_refuses_bad_parameters(studio: Studio, analysis_id: str) -> None:
    mapped = studio.run("features", "map", analysis_id[:8], "--method", "pca", timeout=180)
    assert mapped.returncode == 0, mapped.stderr + mapped.stdout
    assert "pca map of 64 latents" in mapped.stdout
    assert (studio.home / "features" / analysis_id / "map_pca.npz").is_file()
    wrong_method = studio.run("features", "map", analysis_id, "--method", "isomap")
    assert wrong_method.returncode != 0 and "--method" in wrong_method.stderr
    too_many = studio.run("features", "map", analysis_id, "--method", "tsne", "--perplexity", "30")
    assert too_many.returncode == 1 and "perplexity must be from 1 to 21" in too_many.stderr


def test_label_reads_the_key_from_the_environment_and_prints_the_scores(
        studio: Studio, analysis_id: str, llm_endpoint: str) -> None:  # noqa: F811
    FakeLLM.seen.clear()
    ran = mistudio("features", "label", analysis_id[:8], "--top", "2", "--endpoint", llm_endpoint, "--model",
                   "fake-llm", "--score-examples", "2", home=studio.home, timeout=600, MISTUDIO_PORT=studio.port,
                   MISTUDIO_LLM_API_KEY=KEY)
    assert ran.returncode == 0, ran.stderr + ran.stdout
    assert "labelling 2 latent(s) with fake-llm (127.0.0.1)" in ran.stdout
    assert ran.stdout.count("words of the kingdom") == 2 and "detection" in ran.stdout
    assert FakeLLM.seen and all(seen["authorization"] == f"Bearer {KEY}" for seen in FakeLLM.seen)
    assert KEY not in ran.stdout + ran.stderr
    listed = studio.run("features", "list", analysis_id, "--sort", "label_score", "--limit", "2", "--json")
    assert listed.returncode == 0 and '"label_kind": "llm"' in listed.stdout.replace("\n", " ").replace("  ", " ")


def test_label_without_an_llm_is_one_line(studio: Studio, analysis_id: str) -> None:
    ran = studio.run("features", "label", analysis_id, "--top", "2")
    assert ran.returncode == 1 and "give an LLM" in ran.stderr
