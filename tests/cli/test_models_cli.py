"""`mistudio models …` as a user runs it, with no server running: the CLI runs the jobs itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.cli_studio import mistudio, unused_port
from tests.support.hub_fixtures import HfEnv, TinyModels


def test_import_list_show_architecture_and_delete_from_the_command_line(
        studio_home: Path, tiny_models: TinyModels) -> None:
    port = unused_port()
    folder = tiny_models("gpt_neox")
    # A path relative to where the user stands: the CLI makes it absolute before the service sees it.
    imported = mistudio("models", "import", f"./{folder.name}", "--name", "pythia-tiny",
                        home=studio_home, timeout=180, cwd=folder.parent, MISTUDIO_PORT=port)
    assert imported.returncode == 0, imported.stderr + imported.stdout
    assert "running the job in this process" in imported.stdout and "completed" in imported.stdout
    assert f"importing {folder.resolve()}" in imported.stdout

    listed = mistudio("models", "list", home=studio_home, MISTUDIO_PORT=port)
    assert "pythia-tiny" in listed.stdout and "gpt_neox" in listed.stdout
    # The list shows a short unique prefix, and every command accepts it back.
    model_id = re.search(r"([0-9a-f]{8,31})\W+pythia-tiny", listed.stdout).group(1)  # type: ignore[union-attr]

    shown = json.loads(mistudio("models", "show", model_id, "--json", home=studio_home).stdout)
    assert shown["status"] == "completed" and shown["num_layers"] == 2
    arch = mistudio("models", "architecture", model_id, home=studio_home)
    assert "resid_pre" in arch.stdout and "2 layers" in arch.stdout

    deleted = mistudio("models", "delete", model_id, "--yes", home=studio_home)
    assert deleted.returncode == 0 and "freed" in deleted.stdout
    missing = mistudio("models", "show", model_id, home=studio_home)
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_preview_prints_the_memory_per_format(studio_home: Path, hf_env: HfEnv, tiny_models: TinyModels) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "llama", "cli/llama")
    result = mistudio("models", "preview", repo_id, home=studio_home, HF_ENDPOINT=hf_env.url)
    assert result.returncode == 0, result.stderr
    for fmt in ("fp32", "fp16", "bf16", "q8", "q4", "q2"):
        assert fmt in result.stdout
    assert "green" in result.stdout


def test_a_malformed_repo_id_is_one_line_with_exit_code_1(studio_home: Path) -> None:
    result = mistudio("models", "download", "not a repo", home=studio_home)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "repo id" in result.stderr.lower()
