"""The SAE peers' venv holds the pinned SAELens and sparsify, and imports mistudio from this checkout."""

from __future__ import annotations

import json

import pytest

from tests.support.saepeers import PINNED_VERSIONS, REPO_ROOT, SaePeersError, run_in_peers

VERSIONS_SCRIPT = """
import json, sys
from importlib.metadata import version

import mistudio
import sae_lens
import sparsify  # prints a Triton notice on stdout: the report is the last line

print(json.dumps({"sae-lens": version("sae-lens"), "eai-sparsify": version("eai-sparsify"),
                  "sae_lens.__version__": sae_lens.__version__, "mistudio": mistudio.__file__,
                  "args": sys.argv[1:]}))
"""


def test_peers_venv_imports_the_pinned_sae_lens_and_sparsify_and_this_checkouts_mistudio() -> None:
    completed = run_in_peers(VERSIONS_SCRIPT, args=["--flag", "value"], timeout=120)
    report = json.loads(completed.stdout.strip().splitlines()[-1])

    assert {name: report[name] for name in PINNED_VERSIONS} == PINNED_VERSIONS
    assert report["sae_lens.__version__"] == PINNED_VERSIONS["sae-lens"]
    assert report["mistudio"] == str(REPO_ROOT / "src" / "mistudio" / "__init__.py")
    assert report["args"] == ["--flag", "value"]


def test_a_failing_peer_script_raises_with_its_stderr() -> None:
    with pytest.raises(SaePeersError, match="ValueError: no such latent"):
        run_in_peers("raise ValueError('no such latent')", timeout=60)
