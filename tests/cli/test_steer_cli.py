"""`mistudio steer MODEL --sae S --feature I=S "prompt"` as a user runs it: both texts and the metrics printed."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.formats import save_saelens
from tests.support.cli_studio import mistudio, unused_port
from tests.support.hub_fixtures import TinyModels


def _texts(stdout: str) -> tuple[str, str]:
    baseline = re.search(r"── baseline ──\n(.*?)\n── steered", stdout, re.S)
    steered = re.search(r"── steered: [^\n]*──\n(.*?)\n── metrics ──", stdout, re.S)
    assert baseline and steered, stdout
    return baseline.group(1), steered.group(1)


def test_steer_prints_both_texts_and_the_metrics(studio_home: Path, tiny_models: TinyModels,
                                                 tmp_path: Path) -> None:
    port = unused_port()
    imported = mistudio("models", "import", str(tiny_models("llama")), "--name", "tiny", home=studio_home,
                        timeout=180, MISTUDIO_PORT=port)
    assert imported.returncode == 0, imported.stderr + imported.stdout
    model_id = re.search(r"[0-9a-f]{32}", imported.stdout).group(0)  # type: ignore[union-attr]
    torch.manual_seed(0)
    folder = save_saelens(SparseAutoencoder(SAEConfig("standard", d_in=64, d_sae=128,
                                                      hook_point="blocks.1.resid_post")), tmp_path / "sae")
    sae = mistudio("train", "saes", "import", str(folder), "--model", model_id[:8], home=studio_home,
                   MISTUDIO_PORT=port)
    assert sae.returncode == 0, sae.stderr + sae.stdout
    sae_id = re.search(r"[0-9a-f]{32}", sae.stdout).group(0)  # type: ignore[union-attr]

    common = ("--max-new-tokens", "8", "--temperature", "1", "--seed", "4")
    still = mistudio("steer", model_id[:8], "the king", "--sae", sae_id[:8], "--feature", "3=0", *common,
                     home=studio_home, timeout=240, MISTUDIO_PORT=port)
    pushed = mistudio("steer", model_id[:8], "the king", "--sae", sae_id[:8], "--feature", "3=400", "--token",
                      "the", *common, home=studio_home, timeout=240, MISTUDIO_PORT=port)
    for run in (still, pushed):
        assert run.returncode == 0, run.stderr
        assert "KL steered‖baseline" in run.stdout and "perplexity" in run.stdout and "seed 4" in run.stderr
    still_base, still_steered = _texts(still.stdout)
    pushed_base, pushed_steered = _texts(pushed.stdout)
    assert still_base == still_steered == pushed_base and still_base.strip()
    assert pushed_steered != pushed_base
    assert "feature 3 × 400" in pushed.stdout and "p('the') next:" in pushed.stdout

    beyond = mistudio("steer", model_id[:8], "the king", "--sae", sae_id[:8], "--feature", "999=1", *common,
                      home=studio_home, timeout=240, MISTUDIO_PORT=port)
    assert beyond.returncode == 1 and "--feature 999=1" in beyond.stderr and "beyond" in beyond.stderr
    malformed = mistudio("steer", model_id[:8], "the king", "--sae", sae_id[:8], "--feature", "3", home=studio_home)
    assert malformed.returncode == 2 and "--feature" in malformed.stderr
