"""`mistudio features …` as a user runs it: with no server the CLI runs the analysis itself, then browses it."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_extraction_cli import Studio, _id, studio  # noqa: F401 (the fixture)

HOOK = "blocks.1.resid_post"


@pytest.fixture(scope="module")
def analysis_id(studio: Studio) -> str:  # noqa: F811
    trained = studio.run("train", "run", "--model", studio.model_id, *studio.source(), "--hook-point", HOOK,
                         "--expansion-factor", "1", "--k", "4", "--steps", "20", "--batch-tokens", "64",
                         "--log-every", "10", "--name", "cli-features", timeout=300)
    assert trained.returncode == 0, trained.stderr + trained.stdout
    sae_id = _id(r"SAE\(s\): ([0-9a-f]{32})", trained.stdout)
    ran = studio.run("features", "analyze", sae_id[:8], *studio.source(), "--top-k", "3", "--context", "2",
                     timeout=300)
    assert ran.returncode == 0, ran.stderr + ran.stdout
    assert "running the job in this process" in ran.stdout and "analysed 64 latents over" in ran.stdout
    return _id(r"analysis ([0-9a-f]{32}): ", ran.stdout)


def test_list_sorts_like_the_api_and_show_prints_a_latent(studio: Studio, analysis_id: str) -> None:  # noqa: F811
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


def test_bad_options_are_one_line_naming_them(studio: Studio, analysis_id: str) -> None:  # noqa: F811
    bad_sort = studio.run("features", "list", analysis_id, "--sort", "loudness")
    assert bad_sort.returncode == 2 and "--sort must be one of" in bad_sort.stderr
    out_of_range = studio.run("features", "show", analysis_id, "64")
    assert out_of_range.returncode == 1 and "0 to 63" in out_of_range.stderr


def test_map_runs_the_job_with_a_bar_and_refuses_bad_parameters(studio: Studio, analysis_id: str) -> None:  # noqa: F811
    mapped = studio.run("features", "map", analysis_id[:8], "--method", "pca", timeout=180)
    assert mapped.returncode == 0, mapped.stderr + mapped.stdout
    assert "pca map of 64 latents" in mapped.stdout
    assert (studio.home / "features" / analysis_id / "map_pca.npz").is_file()
    wrong_method = studio.run("features", "map", analysis_id, "--method", "isomap")
    assert wrong_method.returncode != 0 and "--method" in wrong_method.stderr
    too_many = studio.run("features", "map", analysis_id, "--method", "tsne", "--perplexity", "30")
    assert too_many.returncode == 1 and "perplexity must be from 1 to 21" in too_many.stderr
