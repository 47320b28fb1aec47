"""lens.hub_datasets against the fake Hub (a real HTTP server), driven through unmodified huggingface_hub."""

from __future__ import annotations

import functools
import io
import json
import random
import string
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mistudio.errors import status_of
from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hub import (
    DownloadCancelled,
    DownloadProgress,
    GatedRepoError,
    HubUnavailable,
    RepoFile,
    RepoNotFound,
    verify_file,
)
from mistudio.lens.hub_datasets import (
    dataset_data_files,
    download_dataset_repo,
    preview_dataset_repo,
    select_dataset_files,
)
from tests.support.fake_hub import FakeHub
from tests.support.hub_fixtures import HfEnv

BIG = "data/train.jsonl"


def parquet(texts: list[str]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"text": texts, "label": list(range(len(texts)))}), sink)
    return sink.getvalue()


def jsonl(texts: list[str]) -> str:
    return "".join(json.dumps({"text": t}) + "\n" for t in texts)


@functools.lru_cache(maxsize=1)
def big_jsonl() -> bytes:
    """About 4 MB of incompressible JSON lines: big enough for a drop or a cancel to land mid-transfer."""
    rng = random.Random(0)
    lines = (json.dumps({"text": "".join(rng.choices(string.ascii_letters, k=1000))}) for _ in range(4000))
    return "\n".join(lines).encode() + b"\n"


def files_of(*paths: str) -> list[RepoFile]:
    return [RepoFile(p, 10, None, None) for p in paths]


def layout(configs: dict[str, dict[str, list[RepoFile]]]) -> dict[str, dict[str, list[str]]]:
    return {c: {s: [f.path for f in files] for s, files in splits.items()} for c, splits in configs.items()}


def gets(hub: FakeHub, repo_id: str) -> list[str]:
    """Paths of the dataset repo's files fetched with GET, oldest first."""
    prefix = f"/datasets/{repo_id}/resolve/"
    return [r.path.split("/resolve/", 1)[1].split("/", 1)[1] for r in hub.requests_for(prefix, "GET")]


def partial_files(dest: Path) -> list[Path]:
    return list((dest / ".partial").glob("*")) if (dest / ".partial").exists() else []


def publish_parquet(hub: FakeHub, repo_id: str, **options: object) -> dict[str, bytes]:
    content = {
        "data/train-00000-of-00002.parquet": parquet(["alpha", "beta"]),
        "data/train-00001-of-00002.parquet": parquet(["gamma"]),
        "data/test-00000-of-00001.parquet": parquet(["delta", "epsilon", "zeta"]),
        "README.md": "---\nlicense: mit\n---\n# parquet\n",
        ".gitattributes": "*.parquet filter=lfs diff=lfs merge=lfs -text\n",
    }
    hub.add_dataset_repo(repo_id, content, **options)
    return content


# --- grouping files into configs and splits (no Hub) --------------------------------------------------------
def test_data_files_in_one_folder_or_at_the_root_form_the_default_config_split_by_name() -> None:
    parquet_repo = files_of("data/train-00001-of-00002.parquet", "data/train-00000-of-00002.parquet",
                            "data/test-00000-of-00001.parquet", "README.md", ".gitattributes", "data/notes.md")
    root_repo = files_of("test.jsonl", "valid.jsonl", "train.jsonl", "extra.txt", "dev-2.csv", "image.png",
                         "corpus.json.gz", ".cache/train.jsonl")
    split_folders = files_of("train/part1.csv", "validation/part1.csv", "dev/part2.csv", "test/x.csv")

    assert layout(dataset_data_files(parquet_repo)) == {"default": {
        "train": ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"],
        "test": ["data/test-00000-of-00001.parquet"]}}
    assert layout(dataset_data_files(root_repo)) == {"default": {
        "train": ["extra.txt", "train.jsonl"], "validation": ["dev-2.csv", "valid.jsonl"], "test": ["test.jsonl"]}}
    assert layout(dataset_data_files(split_folders)) == {"default": {
        "train": ["train/part1.csv"], "validation": ["dev/part2.csv", "validation/part1.csv"],
        "test": ["test/x.csv"]}}
    assert dataset_data_files(files_of("README.md", "model.safetensors")) == {}


def test_several_top_level_folders_of_data_files_are_one_config_each() -> None:
    repo = files_of("en/train.csv", "en/test.csv", "fr/data/train-0.parquet", "fr/validation/a.parquet", "README.md")

    assert layout(dataset_data_files(repo)) == {
        "en": {"train": ["en/train.csv"], "test": ["en/test.csv"]},
        "fr": {"train": ["fr/data/train-0.parquet"], "validation": ["fr/validation/a.parquet"]}}


def test_readme_configs_decide_with_glob_paths_when_present() -> None:
    repo = files_of("wiki/train-0.parquet", "wiki/train-1.parquet", "wiki/eval.parquet", "books/all.jsonl",
                    "root.csv")
    yaml_configs = [
        {"config_name": "wiki", "data_files": [{"split": "train", "path": "wiki/train-*"},
                                               {"split": "validation", "path": ["wiki/eval.parquet"]}]},
        {"config_name": "books", "data_files": "books/*.jsonl"},
        {"config_name": "everything", "data_files": [{"split": "train", "path": "**/*.csv"}]},
        {"config_name": "nothing", "data_files": [{"split": "train", "path": "missing/*"}]},
    ]

    assert layout(dataset_data_files(repo, yaml_configs)) == {
        "books": {"train": ["books/all.jsonl"]}, "everything": {"train": ["root.csv"]},
        "wiki": {"train": ["wiki/train-0.parquet", "wiki/train-1.parquet"], "validation": ["wiki/eval.parquet"]}}


# --- preview, selection and download against the Hub ---------------------------------------------------------
def test_a_parquet_repo_previews_its_splits_and_downloads_only_the_chosen_split_verified(
        hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = "ds-parquet/corpus"
    content = publish_parquet(hf_env.hub, repo_id)
    sizes = {path: hf_env.hub.file(repo_id, path, repo_type="dataset").size for path in content}

    preview = preview_dataset_repo(repo_id)
    chosen = select_dataset_files(preview, None, "test")
    hf_env.hub.clear_requests()
    reports: list[DownloadProgress] = []
    result = download_dataset_repo(repo_id, tmp_path / "source", revision=preview.revision, files=chosen,
                                   on_progress=reports.append)

    assert (preview.revision, preview.license, preview.gated, preview.private) == (
        hf_env.hub.commit_sha(repo_id, repo_type="dataset"), "mit", False, False)
    assert layout(preview.configs) == {"default": {
        "train": ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"],
        "test": ["data/test-00000-of-00001.parquet"]}}
    assert {f.path: f.size for s in preview.configs["default"].values() for f in s} == {
        p: n for p, n in sizes.items() if p.endswith(".parquet")}
    assert preview.download_bytes == sum(n for p, n in sizes.items() if p.endswith(".parquet"))
    assert all(f.sha256 for f in chosen)  # parquet files are LFS files: verified by sha256
    assert gets(hf_env.hub, repo_id) == ["data/test-00000-of-00001.parquet"]
    assert [p.relative_to(tmp_path / "source").as_posix() for p in (tmp_path / "source").rglob("*") if p.is_file()
            ] == ["data/test-00000-of-00001.parquet"]
    assert (tmp_path / "source" / chosen[0].path).read_bytes() == content[chosen[0].path]
    assert pq.read_table(tmp_path / "source" / chosen[0].path).column("text").to_pylist() == [
        "delta", "epsilon", "zeta"]
    assert result.files == chosen and result.bytes_total == result.bytes_transferred == chosen[0].size
    assert reports[-1].bytes_done == result.bytes_total and reports[-1].files_done == 1


def test_a_jsonl_repo_downloads_one_split_and_a_second_call_fetches_nothing(hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = "ds-jsonl/corpus"
    content = {"train.jsonl": jsonl(["one", "two"]), "validation.jsonl": jsonl(["three"]),
               "test.jsonl": jsonl(["four"])}
    hf_env.hub.add_dataset_repo(repo_id, content)

    preview = preview_dataset_repo(repo_id)
    chosen = select_dataset_files(preview, "default", "validation")
    download_dataset_repo(repo_id, tmp_path / "s", files=chosen)
    hf_env.hub.clear_requests()
    again = download_dataset_repo(repo_id, tmp_path / "s", files=chosen)

    assert {s: [(f.path, f.size) for f in fs] for s, fs in preview.configs["default"].items()} == {
        "train": [("train.jsonl", len(content["train.jsonl"]))],
        "validation": [("validation.jsonl", len(content["validation.jsonl"]))],
        "test": [("test.jsonl", len(content["test.jsonl"]))]}
    assert [f.path for f in chosen] == ["validation.jsonl"] and chosen[0].blob_id and not chosen[0].sha256
    verify_file(tmp_path / "s" / "validation.jsonl", chosen[0])  # small files: verified by git blob sha1
    assert (tmp_path / "s" / "validation.jsonl").read_text() == content["validation.jsonl"]
    assert not (tmp_path / "s" / "train.jsonl").exists()
    assert again.bytes_transferred == 0 and gets(hf_env.hub, repo_id) == []


def test_a_download_without_a_file_list_fetches_every_data_file_and_not_the_readme(
        hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = "ds-all/corpus"
    content = publish_parquet(hf_env.hub, repo_id)

    result = download_dataset_repo(repo_id, tmp_path / "s")

    data = sorted(p for p in content if p.endswith(".parquet"))
    assert [f.path for f in result.files] == data
    assert sorted(p.relative_to(tmp_path / "s").as_posix() for p in (tmp_path / "s").rglob("*") if p.is_file()) == data


def test_a_repo_with_a_folder_per_config_offers_each_and_downloads_the_chosen_one(
        hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = "ds-multi/folders"
    hf_env.hub.add_dataset_repo(repo_id, {"en/train.jsonl": jsonl(["hello"]), "en/test.jsonl": jsonl(["bye"]),
                                          "fr/train.jsonl": jsonl(["bonjour"]), "README.md": "# multi\n"})

    preview = preview_dataset_repo(repo_id)
    chosen = select_dataset_files(preview, "fr", None)
    download_dataset_repo(repo_id, tmp_path / "s", files=chosen)

    assert layout(preview.configs) == {"en": {"train": ["en/train.jsonl"], "test": ["en/test.jsonl"]},
                                       "fr": {"train": ["fr/train.jsonl"]}}
    assert [p.relative_to(tmp_path / "s").as_posix() for p in (tmp_path / "s").rglob("*") if p.is_file()] == [
        "fr/train.jsonl"]


def test_readme_configs_are_honoured_over_the_folder_layout(hf_env: HfEnv) -> None:
    repo_id = "ds-multi/yaml"
    readme = """---
license: cc-by-4.0
configs:
- config_name: small
  data_files:
  - split: train
    path: "data/small-train-*.parquet"
  - split: test
    path: "data/small-test.parquet"
- config_name: large
  data_files: "data/large-*.parquet"
---
# two configs in one folder
"""
    hf_env.hub.add_dataset_repo(repo_id, {
        "data/small-train-0.parquet": parquet(["a"]), "data/small-train-1.parquet": parquet(["b"]),
        "data/small-test.parquet": parquet(["c"]), "data/large-0.parquet": parquet(["d", "e"]), "README.md": readme})

    preview = preview_dataset_repo(repo_id)

    assert preview.license == "cc-by-4.0"
    assert layout(preview.configs) == {
        "large": {"train": ["data/large-0.parquet"]},
        "small": {"train": ["data/small-train-0.parquet", "data/small-train-1.parquet"],
                  "test": ["data/small-test.parquet"]}}


def test_an_unknown_config_or_split_is_refused_naming_the_available_ones(hf_env: HfEnv) -> None:
    repo_id = "ds-choose/folders"
    hf_env.hub.add_dataset_repo(repo_id, {"en/train.csv": "text\nhi\n", "en/test.csv": "text\nho\n",
                                          "de/train.csv": "text\nhallo\n"})
    preview = preview_dataset_repo(repo_id)

    with pytest.raises(InvalidArgument) as no_config:
        select_dataset_files(preview, None, None)
    with pytest.raises(InvalidArgument) as bad_config:
        select_dataset_files(preview, "es", None)
    with pytest.raises(InvalidArgument) as bad_split:
        select_dataset_files(preview, "en", "validation")

    for error in (no_config.value, bad_config.value):
        assert "'de'" in error.message and "'en'" in error.message and status_of(error) == 400
    assert "'es'" in bad_config.value.message
    assert "'validation'" in bad_split.value.message and "'train', 'test'" in bad_split.value.message
    assert [f.path for f in select_dataset_files(preview, "en", None)] == ["en/train.csv", "en/test.csv"]


def test_a_repo_without_data_files_previews_empty_and_cannot_be_selected(hf_env: HfEnv) -> None:
    repo_id = "ds-empty/readme-only"
    hf_env.hub.add_dataset_repo(repo_id, {"README.md": "# nothing here\n", "script.py": "print(1)\n"})

    preview = preview_dataset_repo(repo_id)
    with pytest.raises(InvalidArgument) as error:
        select_dataset_files(preview, None, None)

    assert preview.configs == {} and preview.download_bytes == 0
    assert ".parquet" in error.value.message and repo_id in error.value.message


# --- errors ------------------------------------------------------------------------------------------------
def test_an_unknown_dataset_is_not_found_even_when_a_model_has_that_id(hf_env: HfEnv, tmp_path: Path) -> None:
    hf_env.hub.add_model_repo("ds-missing/model-only", {"config.json": "{}"})

    with pytest.raises(RepoNotFound) as preview_error:
        preview_dataset_repo("ds-missing/model-only")
    with pytest.raises(RepoNotFound) as download_error:
        download_dataset_repo("ds-missing/nothing", tmp_path / "s")

    for error, repo_id in ((preview_error.value, "ds-missing/model-only"),
                           (download_error.value, "ds-missing/nothing")):
        assert status_of(error) == 404
        assert f"dataset repository '{repo_id}' was not found on {hf_env.url}" in error.message
    assert not (tmp_path / "s").exists()


def test_a_file_the_repo_does_not_list_is_not_found(hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = "ds-missing-file/corpus"
    hf_env.hub.add_dataset_repo(repo_id, {"train.csv": "text\nhi\n"})

    with pytest.raises(RepoNotFound) as error:
        download_dataset_repo(repo_id, tmp_path / "s", files=files_of("test.csv"))

    assert "'test.csv'" in error.value.message and gets(hf_env.hub, repo_id) == []


def test_a_gated_dataset_needs_the_right_token_then_downloads(hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = "ds-gated/corpus"
    content = publish_parquet(hf_env.hub, repo_id, gated=True)
    wrong = "hf_wrong_secret_456"

    preview = preview_dataset_repo(repo_id)  # the metadata (and README) of a gated repo are public
    chosen = select_dataset_files(preview, None, "train")
    with pytest.raises(GatedRepoError) as without_token:
        download_dataset_repo(repo_id, tmp_path / "a", files=chosen)
    with pytest.raises(GatedRepoError) as wrong_token:
        download_dataset_repo(repo_id, tmp_path / "b", files=chosen, token=wrong)
    result = download_dataset_repo(repo_id, tmp_path / "c", files=chosen, token=hf_env.token)

    assert preview.gated and len(chosen) == 2
    for error in (without_token.value, wrong_token.value):
        assert status_of(error) == 403
        assert f"accept its licence at {hf_env.url}/datasets/{repo_id}" in error.message
        assert wrong not in error.message and hf_env.token not in error.message
    assert "no token was given" in without_token.value.message
    assert "the token given has no access" in wrong_token.value.message
    assert partial_files(tmp_path / "a") == [] and partial_files(tmp_path / "b") == []
    assert all((tmp_path / "c" / f.path).read_bytes() == content[f.path] for f in result.files)


def test_a_private_dataset_is_not_found_without_a_token_and_opens_with_one(hf_env: HfEnv) -> None:
    repo_id = "ds-private/corpus"
    hf_env.hub.add_dataset_repo(repo_id, {"train.txt": "line one\nline two\n"}, private=True)

    with pytest.raises(RepoNotFound) as error:
        preview_dataset_repo(repo_id)

    assert "provide a token" in error.value.message
    preview = preview_dataset_repo(repo_id, token=hf_env.token)
    assert preview.private and layout(preview.configs) == {"default": {"train": ["train.txt"]}}


# --- transfers: resume, retries, cancel ---------------------------------------------------------------------
def test_a_dropped_connection_mid_file_is_resumed_and_the_file_verifies(hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = "ds-resume/big"
    hf_env.hub.add_dataset_repo(repo_id, {BIG: big_jsonl(), "data/test.jsonl": jsonl(["x"])})
    size = hf_env.hub.file(repo_id, BIG, repo_type="dataset").size
    hf_env.hub.drop_connection_after(f"{repo_id}/{BIG}", size // 2)
    chosen = select_dataset_files(preview_dataset_repo(repo_id), None, "train")
    hf_env.hub.clear_requests()

    result = download_dataset_repo(repo_id, tmp_path / "s", files=chosen, backoff_seconds=0.01)

    first, second = [r for r in hf_env.hub.requests_for(f"/datasets/{repo_id}/resolve/", "GET")]
    resumed_at = int(second.range.removeprefix("bytes=").rstrip("-"))
    assert first.range is None and 0 < resumed_at <= size // 2 and second.status == 206
    assert (tmp_path / "s" / BIG).read_bytes() == big_jsonl()
    verify_file(tmp_path / "s" / BIG, result.files[0])
    assert result.files[0].sha256 and result.bytes_transferred < 1.2 * size
    assert partial_files(tmp_path / "s") == []


def test_a_hub_that_keeps_failing_is_reported_unavailable(hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = "ds-retry/corpus"
    hf_env.hub.add_dataset_repo(repo_id, {"train.csv": "text\nhi\n"})
    hf_env.hub.fail_requests(f"{repo_id}/train.csv", 503, times=10)

    with pytest.raises(HubUnavailable) as error:
        download_dataset_repo(repo_id, tmp_path / "s", files=files_of("train.csv"), max_retries=2,
                              backoff_seconds=0.01)

    assert "HTTP 503" in error.value.message and hf_env.url in error.value.message
    assert gets(hf_env.hub, repo_id) == ["train.csv"] * 3  # the first try and two retries


def test_cancel_stops_the_download_and_leaves_no_partial_file(hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = "ds-cancel/big"
    hf_env.hub.add_dataset_repo(repo_id, {BIG: big_jsonl()})
    hf_env.hub.throttle(1_000_000, f"{repo_id}/{BIG}")  # 4 s for the whole file
    dest, cancelled_at = tmp_path / "s", []

    def on_progress(progress: DownloadProgress) -> None:
        if progress.current_file == BIG and progress.bytes_done > 300_000 and not cancelled_at:
            cancelled_at.append(time.monotonic())

    with pytest.raises(DownloadCancelled):
        download_dataset_repo(repo_id, dest, on_progress=on_progress, should_stop=lambda: bool(cancelled_at))

    assert time.monotonic() - cancelled_at[0] < 1.0
    assert partial_files(dest) == [] and not (dest / BIG).exists()
