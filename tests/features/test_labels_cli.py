"""`mistudio features label` as a user runs it: the key from the environment reaches the endpoint, the labels and
scores are printed, and a missing LLM is one line naming the options."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import mistudio
from tests.cli.test_extraction_cli import Studio, studio  # noqa: F401 (the fixture)
from tests.features.test_features_cli import analysis_id  # noqa: F401 (the fixture)
from tests.features.test_labels_api import FakeLLM, llm_endpoint  # noqa: F401 (the fixture)

pytestmark = pytest.mark.timeout(900)  # may train and analyse this module's SAE first, on a shared CPU
KEY = "sk-cli-env-key-5512"


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


def test_label_without_an_llm_is_one_line(studio: Studio, analysis_id: str) -> None:  # noqa: F811
    ran = studio.run("features", "label", analysis_id, "--top", "2")
    assert ran.returncode == 1 and "give an LLM" in ran.stderr
