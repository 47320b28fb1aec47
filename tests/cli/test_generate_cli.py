"""`mistudio generate MODEL "prompt"` as a user runs it: tokens on stdout, the figures on stderr."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.cli_studio import mistudio, unused_port
from tests.support.hub_fixtures import TinyModels


def test_generate_prints_the_text_and_the_same_seed_prints_it_again(studio_home: Path,
                                                                    tiny_models: TinyModels) -> None:
    port = unused_port()
    imported = mistudio("models", "import", str(tiny_models("llama")), "--name", "tiny", home=studio_home,
                        timeout=180, MISTUDIO_PORT=port)
    assert imported.returncode == 0, imported.stderr + imported.stdout
    model_id = re.search(r"[0-9a-f]{32}", imported.stdout).group(0)  # type: ignore[union-attr]
    runs = [mistudio("generate", model_id[:8], "the king", "--max-new-tokens", "6", "--temperature", "1",
                     "--seed", "3", home=studio_home, timeout=240, MISTUDIO_PORT=port) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert re.search(r"\d+ tokens in [0-9.]+s, first token after", run.stderr) and "seed 3" in run.stderr
        assert "model loaded in" in run.stderr  # each command starts its own host: cold
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.strip()

    refused = mistudio("generate", model_id[:8], "hi", "--temperature", "-1", home=studio_home)
    assert refused.returncode == 2 and "--temperature" in refused.stderr
