"""The data directory: every path miStudio writes is built here from validated ids, never from user text."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mistudio.config import Settings
from mistudio.errors import InvalidInput, SettingsError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def safe_id(value: str, what: str = "id") -> str:
    """Refuse anything that could escape a folder (`..`, slashes, empty, odd characters)."""
    if not _ID.match(value) or ".." in value:
        raise InvalidInput(f"{what} {value!r} is not a valid id (letters, digits, '_', '-', '.')")
    return value


@dataclass(frozen=True)
class Storage:
    home: Path

    @property
    def database_file(self) -> Path:
        return self.home / "mistudio.db"

    def model_raw_dir(self, model_id: str) -> Path:
        return self.home / "models" / "raw" / safe_id(model_id, "model id")

    def model_quantized_dir(self, model_id: str, fmt: str) -> Path:
        return self.home / "models" / "quantized" / f"{safe_id(model_id, 'model id')}_{safe_id(fmt, 'format')}"

    def dataset_dir(self, dataset_id: str) -> Path:
        return self.home / "datasets" / safe_id(dataset_id, "dataset id")

    def activations_dir(self, extraction_id: str) -> Path:
        return self.home / "activations" / safe_id(extraction_id, "extraction id")

    def sae_dir(self, training_id: str) -> Path:
        return self.home / "saes" / safe_id(training_id, "training id")

    def checkpoint_dir(self, training_id: str, step: int) -> Path:
        return self.home / "checkpoints" / safe_id(training_id, "training id") / f"step_{int(step)}"

    def disk_usage(self) -> shutil._ntuple_diskusage:
        return shutil.disk_usage(self.home)


def prepare_home(settings: Settings) -> Storage:
    """Create the data directory and prove it is writable, or fail with one actionable line."""
    home = settings.home.expanduser()
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise SettingsError(
            f"MISTUDIO_HOME={home} is not a writable folder ({exc.strerror or exc}); "
            "set MISTUDIO_HOME to a folder you can write to, or fix its permissions"
        ) from exc
    if not os.access(home, os.W_OK | os.X_OK):
        raise SettingsError(f"MISTUDIO_HOME={home} is not writable; set MISTUDIO_HOME to a writable folder")
    return Storage(home=home)
