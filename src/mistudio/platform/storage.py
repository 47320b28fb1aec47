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
    # MISTUDIO_EXAMPLES_DIR: the example corpora may live outside the home (a cache several homes share).
    examples: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Storage:
        """The layout the settings describe (creates nothing: `prepare_home` checks the folder first)."""
        examples = settings.examples_dir.expanduser() if settings.examples_dir else None
        return cls(home=settings.home.expanduser(), examples=examples)

    @property
    def database_file(self) -> Path:
        return self.home / "mistudio.db"

    def model_raw_dir(self, model_id: str) -> Path:
        return self.home / "models" / "raw" / safe_id(model_id, "model id")

    def model_quantized_dir(self, model_id: str, fmt: str) -> Path:
        return self.home / "models" / "quantized" / f"{safe_id(model_id, 'model id')}_{safe_id(fmt, 'format')}"

    def model_quantized_dirs(self, model_id: str) -> list[Path]:
        """Every quantized folder of a model, whatever its formats (what deleting the model frees)."""
        return sorted((self.home / "models" / "quantized").glob(f"{safe_id(model_id, 'model id')}_*"))

    def dataset_dir(self, dataset_id: str) -> Path:
        return self.home / "datasets" / safe_id(dataset_id, "dataset id")

    def dataset_text_dir(self, dataset_id: str) -> Path:
        """The imported text (Arrow tables per split) that browsing and tokenizing read."""
        return self.dataset_dir(dataset_id) / "text"

    def dataset_source_dir(self, dataset_id: str) -> Path:
        """Files the studio itself holds for a dataset: the hub's files, or the browser's uploads."""
        return self.dataset_dir(dataset_id) / "source"

    def tokenization_dir(self, dataset_id: str, tokenization_id: str) -> Path:
        return self.dataset_dir(dataset_id) / "tokenizations" / safe_id(tokenization_id, "tokenization id")

    @property
    def examples_dir(self) -> Path:
        """Where example corpora are fetched once: MISTUDIO_EXAMPLES_DIR, or <home>/examples."""
        return self.examples or self.home / "examples"

    def activations_dir(self, extraction_id: str) -> Path:
        return self.home / "activations" / safe_id(extraction_id, "extraction id")

    def sae_dir(self, sae_id: str) -> Path:
        """An SAE in the SAELens layout (cfg.json, sae_weights.safetensors, sparsity.safetensors)."""
        return self.home / "saes" / safe_id(sae_id, "SAE id")

    def checkpoints_dir(self, training_id: str) -> Path:
        """A training's checkpoints, one step_{n}/ folder each (see lens.sae.checkpoints)."""
        return self.home / "checkpoints" / safe_id(training_id, "training id")

    def features_dir(self, analysis_id: str) -> Path:
        """A feature analysis: its resumable state while it runs, then the store (lens.features.save_features)."""
        return self.home / "features" / safe_id(analysis_id, "analysis id")

    def direction_file(self, direction_id: str) -> Path:
        """A steering direction (lens.steer.save_direction): one safetensors file."""
        return self.home / "steering" / "directions" / f"{safe_id(direction_id, 'direction id')}.safetensors"

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
    return Storage.from_settings(settings)
