"""Run a Python script in the SAE peers' venv (SAELens, sparsify), built by `make setup-test`.

The peers live in <repo>/.venv-saepeers because sae-lens needs transformer-lens 3.x and .venv has 4.3.
mistudio is not installed there: a script imports it from <repo>/src, put on PYTHONPATH.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The versions the Makefile pins (SAEPEERS_SPECS); a test checks the venv holds them.
PINNED_VERSIONS = {"sae-lens": "6.54.12", "eai-sparsify": "1.3.3"}


class SaePeersError(RuntimeError):
    """The peers' venv is missing, or a script run in it failed."""


def peers_python() -> Path:
    """The peers' venv interpreter (it may not exist yet: see `peers_available`)."""
    return REPO_ROOT / ".venv-saepeers" / "bin" / "python"


def peers_available() -> bool:
    """Whether `make setup-test` has built the peers' venv on this machine."""
    return (REPO_ROOT / ".venv-saepeers" / ".stamps" / "installed").is_file() and peers_python().is_file()


def run_in_peers(script: str, *, args: Sequence[str] = (), timeout: float) -> subprocess.CompletedProcess[str]:
    """Run `script` (Python source) in the peers' venv from a temporary directory; returns its captured output.

    Raises SaePeersError when the venv is missing (so no test passes without it) or the script exits non-zero,
    with its stderr in the message; subprocess.TimeoutExpired past `timeout` seconds.
    """
    if not peers_available():
        raise SaePeersError(f"the SAE peers' venv {peers_python().parents[1]} is missing: run `make setup-test`")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    with tempfile.TemporaryDirectory(prefix="saepeers-") as workdir:
        script_path = Path(workdir) / "peer_script.py"
        script_path.write_text(script)
        completed = subprocess.run([str(peers_python()), str(script_path), *args], cwd=workdir, env=env,
                                   capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise SaePeersError(f"script in the SAE peers' venv exited {completed.returncode}:\n{completed.stderr}")
    return completed
