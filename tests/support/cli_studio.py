"""A studio home made with the CLI (a tiny llama, a 40-line dataset, its tokenization) for the CLI test modules.

Building it runs three `mistudio` processes that each import torch and transformers (~15 s each on a loaded 2-core
machine), and four modules need one. It is built once per test process (session scope) and each module gets its own
copy of the folder (SQLite database included: every path the studio stores is relative to its home), so a module's
runs, deletions and listings never see another module's.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from tests.support.hub_fixtures import TinyModels
from tests.support.studio import REPO_ROOT, studio_env

LINES = [f"Line {i}: the king and the queen walk by the river at night, {'singing' if i % 2 else 'reading'}."
         for i in range(40)]
D_MODEL = 64  # the tiny llama's hidden size; it has 2 layers


def mistudio(*args: str, home: Path, timeout: float = 60, cwd: Path = REPO_ROOT,
             **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m mistudio ARGS` as a user runs it, with `home` as MISTUDIO_HOME."""
    return subprocess.run(
        [sys.executable, "-m", "mistudio", *args], env=studio_env(home, COLUMNS="200", **env),
        capture_output=True, text=True, timeout=timeout, cwd=cwd,
    )


def unused_port() -> str:
    # The CLI looks for a running server on MISTUDIO_PORT; a free port makes sure it finds none.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def find_id(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, text
    return found.group(1)


@dataclass(frozen=True)
class Studio:
    home: Path
    port: str
    model_id: str
    dataset_id: str
    tokenization_id: str

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return mistudio(*args, home=self.home, timeout=timeout, MISTUDIO_PORT=self.port)

    def lengths(self) -> np.ndarray:
        folder = self.home / "datasets" / self.dataset_id / "tokenizations" / self.tokenization_id
        return np.diff(np.load(folder / "offsets.npy"))

    def source(self) -> list[str]:
        return ["--dataset", self.dataset_id, "--tokenization", self.tokenization_id]

    def copy(self, home: Path) -> Studio:
        """The same studio in another folder (symlinked model files stay links), on a port of its own."""
        shutil.copytree(self.home, home, symlinks=True, dirs_exist_ok=True)
        return replace(self, home=home, port=unused_port())


@pytest.fixture(scope="session")
def cli_studio_template(tmp_path_factory: pytest.TempPathFactory, tiny_models: TinyModels) -> Studio:
    """Built once per test process; a module uses its own `.copy(...)` (the `studio` fixtures), never this folder."""
    home, folder = tmp_path_factory.mktemp("cli-template-home"), tmp_path_factory.mktemp("text")
    (folder / "lines.txt").write_text("\n".join(LINES))
    port = unused_port()

    def cli(*args: str) -> str:
        result = mistudio(*args, home=home, timeout=180, MISTUDIO_PORT=port)
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    model_id = find_id(r"model ([0-9a-f]{32}): importing", cli("models", "import", str(tiny_models("llama"))))
    dataset_id = find_id(r"dataset ([0-9a-f]{32}): importing", cli("datasets", "import", str(folder / "lines.txt")))
    tokenized = cli("datasets", "tokenize", dataset_id, "--model", model_id, "--max-length", "16")
    return Studio(home, port, model_id, dataset_id, find_id(r"tokenization ([0-9a-f]{32}): ", tokenized))

