"""Hugging Face Hub dataset repos: find the data files per config and split, download the chosen ones.

The transfer machinery is hub.py's (`_Hub` with repo_type="dataset": retries, cancel, error translation;
`fetch_files`: resume, verification, progress); this module only decides which files form a dataset.

Configs and splits follow the Hub's conventions for repos without a loading script:
- README.md YAML front matter with `configs:` (`config_name`, `data_files` as a glob, a list of globs or
  `[{split, path}]`, optional `data_dir`) wins when present;
- otherwise data files in several top-level folders make one config per folder (folders named after a split,
  like `train/`, are splits of "default"), and data files in one folder or at the root make config "default";
- a file's split comes from `lens.data.split_of` on its repo path, as for files imported from disk: a split word in
  its file name, else in its folders from the innermost (`data/train-00000-of-00002.parquet`, `test.jsonl`,
  `validation/part1.csv`), else "train".
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from huggingface_hub import DatasetCard

from mistudio.lens.data import split_of
from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hub import (
    DownloadResult,
    GatedRepoError,
    _Hub,
    _license,
    _repo_files,
    fetch_listed,
    resolve_token,
    validate_repo_id,
)
from mistudio.lens.hub_download import DownloadProgress, RepoFile

DATA_FILE_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv", ".txt")
DEFAULT_CONFIG = "default"
_SPLIT_ORDER = ("train", "validation", "test")


@dataclass
class DatasetRepoPreview:
    repo_id: str
    revision: str  # the commit sha the branch or tag resolved to
    gated: bool
    private: bool
    license: str | None
    configs: dict[str, dict[str, list[RepoFile]]]  # config -> split -> data files
    download_bytes: int  # all data files of all configs


# --- configs -----------------------------------------------------------------------------------------------
def _names_split(name: str) -> bool:
    """Whether a folder name is a split word (`train`, `dev`, ...)."""
    # split_of answers "train" both for a train word and for no split word: asked again with a test folder
    # around the name, a name without a split word answers "test".
    return split_of(f"test/{name}") != "test" or split_of(name) == "test"


def _is_data_file(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return path.lower().endswith(DATA_FILE_SUFFIXES) and not any(p.startswith(".") for p in parts)


def _ordered(configs: dict[str, dict[str, list[RepoFile]]]) -> dict[str, dict[str, list[RepoFile]]]:
    """Configs by name ("default" first), splits train/validation/test then others, files by path (each once);
    empty splits and configs dropped."""
    def split_key(split: str) -> tuple[int, str]:
        return (_SPLIT_ORDER.index(split) if split in _SPLIT_ORDER else len(_SPLIT_ORDER), split)

    ordered = {}
    for config in sorted(configs, key=lambda c: (c != DEFAULT_CONFIG, c)):
        splits = {s: sorted({f.path: f for f in configs[config][s]}.values(), key=lambda f: f.path)
                  for s in sorted(configs[config], key=split_key) if configs[config][s]}
        if splits:
            ordered[config] = splits
    return ordered


def _matches(path: str, pattern: str) -> bool:
    # fnmatch's `*` crosses folders, so `**/` only needs to also match nothing (files at the root).
    pattern = pattern.lstrip("/")
    return fnmatch.fnmatchcase(path, pattern) or (pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:]))


def _yaml_data_files(entry: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(split, glob patterns) pairs of one `configs:` entry; a bare glob or list of globs is the train split."""
    data_files, data_dir = entry.get("data_files"), str(entry.get("data_dir") or "").strip("/")
    if data_files is None:
        pairs = [("train", ["**"])] if data_dir else []
    elif isinstance(data_files, str | list) and all(isinstance(d, str) for d in _as_list(data_files)):
        pairs = [("train", _as_list(data_files))]
    else:
        pairs = [(str(d.get("split", "train")), _as_list(d.get("path"))) for d in _as_list(data_files)
                 if isinstance(d, dict)]
    return [(split, [f"{data_dir}/{p}" if data_dir else p for p in patterns]) for split, patterns in pairs]


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def dataset_data_files(paths: list[RepoFile],
                       yaml_configs: list[dict[str, Any]] | None = None) -> dict[str, dict[str, list[RepoFile]]]:
    """Group a dataset repo's data files (.parquet .jsonl .json .csv .txt) into config -> split -> files.

    `yaml_configs` is the README's `configs:` list; when given (and not empty) it alone decides, with glob
    matching on repo paths. Otherwise each top-level folder holding data files is a config if there are
    several, else everything is config "default"; see the module docstring for splits.
    """
    data = [f for f in paths if _is_data_file(f.path)]
    configs: dict[str, dict[str, list[RepoFile]]] = {}
    if yaml_configs:
        for entry in yaml_configs:
            if not isinstance(entry, dict):
                continue
            splits = configs.setdefault(str(entry.get("config_name") or DEFAULT_CONFIG), {})
            for split, patterns in _yaml_data_files(entry):
                splits.setdefault(split, []).extend(f for f in data if any(_matches(f.path, str(p)) for p in patterns))
        return _ordered(configs)

    def folder(file: RepoFile) -> str | None:
        parts = PurePosixPath(file.path).parts
        # A top-level folder named after a split (train/, test/) holds a split, not a config.
        return parts[0] if len(parts) > 1 and not _names_split(parts[0]) else None

    folders = {folder(f) for f in data}
    for file in data:
        config = folder(file) if len(folders) > 1 and folder(file) else DEFAULT_CONFIG
        configs.setdefault(config, {}).setdefault(split_of(file.path), []).append(file)
    return _ordered(configs)


def _card_configs(hub: _Hub, info: Any, listing: Iterable[str]) -> list[dict[str, Any]] | None:
    """The README's `configs:` list (read from the README itself, like HF datasets does), else the card's, or None."""
    card: dict[str, Any] = info.card_data.to_dict() if info.card_data else {}
    if "README.md" in listing:
        try:
            card = DatasetCard(hub.read_text("README.md"), ignore_metadata_errors=True).data.to_dict()
        except GatedRepoError:
            pass  # the Hub serves a gated repo's README; if one does not, its card data is the same YAML
        except ValueError:
            card = {}  # YAML that does not parse: fall back to the folder conventions
    configs = card.get("configs")
    return configs if isinstance(configs, list) else None


def _open(repo_id: str, revision: str | None, token: str | None, endpoint: str | None, **retry: Any) -> tuple[
        _Hub, Any, dict[str, RepoFile]]:
    hub = _Hub(validate_repo_id(repo_id), revision, resolve_token(token), endpoint, repo_type="dataset", **retry)
    info = hub.info()
    return hub, info, {f.path: f for f in _repo_files(info)}


# --- public operations -------------------------------------------------------------------------------------
def preview_dataset_repo(repo_id: str, *, revision: str | None = None, token: str | None = None,
                         endpoint: str | None = None) -> DatasetRepoPreview:
    """Describe a dataset repo: its configs, splits and data files with sizes; reads the README, no data."""
    hub, info, listing = _open(repo_id, revision, token, endpoint)
    configs = dataset_data_files(list(listing.values()), _card_configs(hub, info, listing))
    files = {f.path: f for splits in configs.values() for split_files in splits.values() for f in split_files}
    return DatasetRepoPreview(repo_id=repo_id, revision=info.sha, gated=bool(info.gated), private=bool(info.private),
                              license=_license(info), configs=configs,
                              download_bytes=sum(f.size for f in files.values()))


def select_dataset_files(preview: DatasetRepoPreview, config: str | None, split: str | None) -> list[RepoFile]:
    """The data files of one config (None: the only one) and one split (None: all); InvalidArgument names choices."""
    if not preview.configs:
        raise InvalidArgument(f"dataset repository '{preview.repo_id}' has no data files "
                              f"({', '.join(DATA_FILE_SUFFIXES)}) at revision '{preview.revision}': choose another "
                              "dataset", code="no_data_files")
    available = ", ".join(f"'{c}'" for c in preview.configs)
    if config is None and len(preview.configs) > 1:
        raise InvalidArgument(f"dataset repository '{preview.repo_id}' has several configs: choose one of {available}",
                           code="config_required", details={"configs": list(preview.configs)})
    config = next(iter(preview.configs)) if config is None else config
    if config not in preview.configs:
        raise InvalidArgument(f"dataset repository '{preview.repo_id}' has no config '{config}': choose one of "
                           f"{available}", code="unknown_config", details={"configs": list(preview.configs)})
    splits = preview.configs[config]
    if split is not None and split not in splits:
        raise InvalidArgument(f"config '{config}' of dataset repository '{preview.repo_id}' has no split '{split}': "
                           f"choose one of {', '.join(repr(s) for s in splits)}", code="unknown_split",
                           details={"splits": list(splits)})
    chosen = [f for s, files in splits.items() if split in (None, s) for f in files]
    return list({f.path: f for f in chosen}.values())


def check_access(preview: DatasetRepoPreview, files: list[RepoFile], *, token: str | None = None,
                 endpoint: str | None = None) -> None:
    """Raise GatedRepoError unless the data can be read: a gated or private repo lists its files to anyone who
    may see it, but serves them only with access, so ask for the first byte of one file."""
    if not files or not (preview.gated or preview.private):
        return
    hub = _Hub(preview.repo_id, preview.revision, resolve_token(token), endpoint, repo_type="dataset")
    hub.read_bytes(files[0].path, first_bytes=1)


def download_dataset_repo(repo_id: str, dest: Path, *, revision: str | None = None, token: str | None = None,
                          files: list[RepoFile] | None = None, endpoint: str | None = None,
                          on_progress: Callable[[DownloadProgress], None] | None = None,
                          should_stop: Callable[[], bool] | None = None, max_retries: int = 3,
                          backoff_seconds: float = 1.0) -> DownloadResult:
    """Download a dataset repo's data files (or `files`, e.g. from select_dataset_files) into dest/<path>.

    Same guarantees as hub.download_repo: the revision is pinned to a commit, sizes and hashes come from the
    Hub's listing, complete files are skipped, partial ones resumed with Range, every file verified. Raises
    CorruptedFile, InsufficientDisk, GatedRepoError, RepoNotFound, HubUnavailable or DownloadCancelled.
    """
    hub, info, listing = _open(repo_id, revision, token, endpoint, max_retries=max_retries,
                               backoff_seconds=backoff_seconds, should_stop=should_stop)
    if files is None:
        configs = dataset_data_files(list(listing.values()), _card_configs(hub, info, listing))
        paths = sorted({f.path for splits in configs.values() for fs in splits.values() for f in fs})
    else:
        paths = list(dict.fromkeys(f.path for f in files))
    return fetch_listed(hub, info, listing, paths, dest, on_progress)


__all__ = [
    "DATA_FILE_SUFFIXES", "DEFAULT_CONFIG", "DatasetRepoPreview", "check_access", "dataset_data_files",
    "download_dataset_repo", "preview_dataset_repo", "select_dataset_files",
]
