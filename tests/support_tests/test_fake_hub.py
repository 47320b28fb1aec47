"""The fake hub, driven by unmodified huggingface_hub and datasets."""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import huggingface_hub
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from safetensors.torch import load_file

from tests.support.fake_hub import LFS_THRESHOLD
from tests.support.hub_fixtures import HfEnv, TinyModels


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_model_info_reports_files_hashes_and_parameter_counts(hf_env: HfEnv, tiny_models: TinyModels) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "llama", "info/llama")
    folder = tiny_models("llama")

    info = HfApi().model_info(repo_id, files_metadata=True)

    assert info.sha == hf_env.hub.commit_sha(repo_id)
    assert info.gated is False and info.card_data.license == "apache-2.0"
    assert info.config["model_type"] == "llama" and info.config["architectures"] == ["LlamaForCausalLM"]
    siblings = {s.rfilename: s for s in info.siblings}
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= set(siblings)
    weights = siblings["model.safetensors"]
    assert weights.size == (folder / "model.safetensors").stat().st_size
    assert weights.lfs is not None and weights.lfs.sha256 == _sha256(folder / "model.safetensors")
    assert siblings["config.json"].lfs is None
    if shutil.which("git"):  # the blob id is what git itself computes
        git_blob = subprocess.run(["git", "hash-object", str(folder / "config.json")], capture_output=True, text=True)
        assert siblings["config.json"].blob_id == git_blob.stdout.strip()
    total = sum(tensor.numel() for tensor in load_file(folder / "model.safetensors").values())
    assert info.safetensors is not None and info.safetensors.total == total
    assert info.safetensors.parameters == {"F32": total}
    # Without files_metadata the siblings carry names only, as on the real Hub.
    assert HfApi().model_info(repo_id).siblings[0].size is None


def test_safetensors_metadata_is_read_with_range_requests(hf_env: HfEnv, tiny_models: TinyModels) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "gpt2", "info/gpt2")

    metadata = HfApi().get_safetensors_metadata(repo_id)

    assert metadata.parameter_count == HfApi().model_info(repo_id).safetensors.parameters
    assert any(r.range for r in hf_env.hub.requests_for("/resolve/main/model.safetensors", "GET"))


def test_list_repo_tree_paginates_and_lists_lfs(hf_env: HfEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    hf_env.hub.add_model_repo("tree/repo", {"a.txt": "a", "b/c.txt": "c", "b/d/e.bin": b"\0" * 10, "f.txt": "f"})
    monkeypatch.setattr(hf_env.hub, "page_size", 2)

    everything = list(HfApi().list_repo_tree("tree/repo", recursive=True))
    top = list(HfApi().list_repo_tree("tree/repo"))
    inside = list(HfApi().list_repo_tree("tree/repo", path_in_repo="b"))

    assert sorted(e.path for e in everything) == ["a.txt", "b", "b/c.txt", "b/d", "b/d/e.bin", "f.txt"]
    assert sorted(e.path for e in top) == ["a.txt", "b", "f.txt"]
    assert sorted(e.path for e in inside) == ["b/c.txt", "b/d"]
    lfs_file = next(e for e in everything if e.path == "b/d/e.bin")
    assert lfs_file.lfs.sha256 == hashlib.sha256(b"\0" * 10).hexdigest() and lfs_file.size == 10
    assert any("cursor" in r.query for r in hf_env.hub.requests_for("/tree/"))
    with pytest.raises(EntryNotFoundError):
        list(HfApi().list_repo_tree("tree/repo", path_in_repo="nope"))
    paths = HfApi().get_paths_info("tree/repo", ["b", "a.txt", "missing"])
    assert [(p.path, type(p).__name__) for p in paths] == [("b", "RepoFolder"), ("a.txt", "RepoFile")]


def test_downloads_land_in_the_cache_and_are_reused(hf_env: HfEnv, tiny_models: TinyModels) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "qwen2", "dl/qwen2")
    source = tiny_models("qwen2")

    snapshot = Path(huggingface_hub.snapshot_download(repo_id))
    config = huggingface_hub.hf_hub_download(repo_id, "config.json")

    assert snapshot.parent.parent == hf_env.hub_cache / "models--dl--qwen2"
    assert snapshot.name == hf_env.hub.commit_sha(repo_id)
    for path in source.iterdir():
        assert (snapshot / path.name).read_bytes() == path.read_bytes()
    assert Path(config).read_bytes() == (source / "config.json").read_bytes()
    gets = len(hf_env.hub.requests_for("/resolve/", "GET"))
    huggingface_hub.hf_hub_download(repo_id, "model.safetensors")
    assert len(hf_env.hub.requests_for("/resolve/", "GET")) == gets  # cached: a HEAD only, no body


def test_dropped_connection_is_resumed_with_a_range_request(hf_env: HfEnv) -> None:
    # huggingface_hub writes 10 MiB chunks (constants.DOWNLOAD_CHUNK_SIZE) and resumes from the last whole chunk,
    # so the file must be bigger than that for the retry to carry a Range header.
    data = random.Random(0).randbytes(16 * 1024 * 1024)
    hf_env.hub.add_model_repo("resume/big", {"weights.bin": data})
    hf_env.hub.drop_connection_after("weights.bin", 12 * 1024 * 1024)

    path = huggingface_hub.hf_hub_download("resume/big", "weights.bin")

    assert _sha256(Path(path)) == hashlib.sha256(data).hexdigest()
    gets = hf_env.hub.requests_for("/resolve/main/weights.bin", "GET")
    assert [g.range for g in gets] == [None, f"bytes={10 * 1024 * 1024}-"]
    assert [g.status for g in gets] == [200, 206]


def test_range_requests_are_answered_like_the_hub(hf_env: HfEnv) -> None:
    hf_env.hub.add_model_repo("range/repo", {"data.bin": bytes(range(256)) * 8})
    url = f"{hf_env.url}/range/repo/resolve/main/data.bin"

    partial = httpx.get(url, headers={"Range": "bytes=10-19"})
    tail = httpx.get(url, headers={"Range": "bytes=-4"})
    beyond = httpx.get(url, headers={"Range": "bytes=5000-"})
    head = httpx.head(url)

    assert partial.status_code == 206 and partial.content == bytes(range(10, 20))
    assert partial.headers["content-range"] == "bytes 10-19/2048"
    assert tail.content == bytes(range(252, 256))
    assert beyond.status_code == 416
    hub_file = hf_env.hub.file("range/repo", "data.bin")
    assert head.headers["etag"] == f'"{hub_file.sha256}"' == head.headers["x-linked-etag"]
    assert head.headers["x-repo-commit"] == hf_env.hub.commit_sha("range/repo")
    assert head.headers["x-linked-size"] == head.headers["content-length"] == "2048"


def test_small_text_files_are_plain_git_blobs_and_large_ones_lfs(hf_env: HfEnv) -> None:
    hf_env.hub.add_model_repo("lfs/rule", {"notes.txt": "x", "big.txt": b"y" * (LFS_THRESHOLD + 1)})
    assert hf_env.hub.file("lfs/rule", "notes.txt").sha256 is None
    assert hf_env.hub.file("lfs/rule", "big.txt").sha256 is not None
    etag = httpx.head(f"{hf_env.url}/lfs/rule/resolve/main/notes.txt").headers["etag"]
    assert etag == f'"{hashlib.sha1(b"blob 1" + bytes([0]) + b"x").hexdigest()}"'


def test_gated_repo_needs_the_token(hf_env: HfEnv, tiny_models: TinyModels) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "gemma2", "gated/gemma2", gated=True)

    assert HfApi().model_info(repo_id).gated == "auto"  # the info is public, the files are not
    with pytest.raises(GatedRepoError) as no_token:
        huggingface_hub.hf_hub_download(repo_id, "config.json")
    with pytest.raises(GatedRepoError) as wrong_token:
        huggingface_hub.hf_hub_download(repo_id, "config.json", token="hf_wrong")
    assert (no_token.value.response.status_code, wrong_token.value.response.status_code) == (401, 403)
    assert huggingface_hub.hf_hub_download(repo_id, "README.md")  # the model card stays readable
    path = huggingface_hub.snapshot_download(repo_id, token=hf_env.token)
    assert json.loads((Path(path) / "config.json").read_text())["model_type"] == "gemma2"
    assert HfApi().whoami(token=hf_env.token)["name"] == "tester"


def test_private_repo_is_not_found_without_the_token(hf_env: HfEnv) -> None:
    hf_env.hub.add_model_repo("private/repo", {"config.json": "{}"}, private=True)
    with pytest.raises(RepositoryNotFoundError):
        HfApi().model_info("private/repo")
    assert HfApi().model_info("private/repo", token=hf_env.token).private is True


def test_missing_repo_file_and_revision_raise_hub_errors(hf_env: HfEnv) -> None:
    hf_env.hub.add_model_repo("errors/repo", {"config.json": "{}"})
    with pytest.raises(RepositoryNotFoundError):
        HfApi().model_info("errors/absent")
    with pytest.raises(RepositoryNotFoundError):
        huggingface_hub.hf_hub_download("errors/absent", "config.json")
    with pytest.raises(EntryNotFoundError):
        huggingface_hub.hf_hub_download("errors/repo", "absent.json")
    with pytest.raises(RevisionNotFoundError):
        HfApi().model_info("errors/repo", revision="v9")
    with pytest.raises(RevisionNotFoundError):
        huggingface_hub.hf_hub_download("errors/repo", "config.json", revision="v9")
    with pytest.raises(RepositoryNotFoundError):
        HfApi().dataset_info("errors/repo")  # a model, not a dataset
    assert hf_env.hub.unhandled == []


def test_revisions_and_commit_shas(hf_env: HfEnv) -> None:
    main = hf_env.hub.add_model_repo("rev/repo", {"config.json": '{"v": 1}'})
    branch = hf_env.hub.add_model_repo("rev/repo", {"config.json": '{"v": 2}'}, revision="v2")

    assert main != branch and len(main) == 40
    assert hf_env.hub.add_model_repo("rev/repo", {"config.json": '{"v": 1}'}) == main  # stable
    by_sha = huggingface_hub.hf_hub_download("rev/repo", "config.json", revision=branch)
    assert json.loads(Path(by_sha).read_text()) == {"v": 2}
    assert {b.name for b in HfApi().list_repo_refs("rev/repo").branches} == {"main", "v2"}


def test_throttle_slows_transfers(hf_env: HfEnv) -> None:
    hf_env.hub.add_model_repo("slow/repo", {"blob.bin": b"z" * 200_000})
    hf_env.hub.throttle(400_000)
    started = time.monotonic()
    huggingface_hub.hf_hub_download("slow/repo", "blob.bin")
    assert time.monotonic() - started >= 0.4


def test_injected_server_errors_are_retried(hf_env: HfEnv) -> None:
    hf_env.hub.add_model_repo("flaky/repo", {"config.json": "{}"})
    hf_env.hub.fail_requests("config.json", status=503, times=1, method="HEAD")
    assert Path(huggingface_hub.hf_hub_download("flaky/repo", "config.json")).read_text() == "{}"
    assert [r.status for r in hf_env.hub.requests_for("config.json", "HEAD")] == [503, 200]


def test_load_dataset_from_parquet_and_jsonl_repos(hf_env: HfEnv) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": [f"row {i}" for i in range(30)]}), buffer)
    hf_env.hub.add_dataset_repo("ds/parquet", {"data/train-00000-of-00001.parquet": buffer.getvalue(),
                                               "README.md": "---\nlicense: mit\n---\n# Rows\n"})
    lines = [json.dumps({"text": f"line {i}", "n": i}) + "\n" for i in range(12)]
    hf_env.hub.add_dataset_repo("ds/jsonl", {"train.jsonl": "".join(lines), "test.jsonl": "".join(lines[:3])})

    parquet = datasets.load_dataset("ds/parquet", split="train")
    jsonl = datasets.load_dataset("ds/jsonl")
    streamed = next(iter(datasets.load_dataset("ds/jsonl", split="train", streaming=True)))

    assert parquet.num_rows == 30 and parquet[3]["text"] == "row 3"
    assert jsonl["train"].num_rows == 12 and jsonl["train"][0] == {"text": "line 0", "n": 0}
    assert set(jsonl) == {"train", "test"} and jsonl["test"].num_rows == 3
    assert streamed == {"text": "line 0", "n": 0}
    assert HfApi().dataset_info("ds/parquet").card_data.license == "mit"
    assert hf_env.hub.requests_for("/api/datasets/ds/parquet")
    assert Path(datasets.config.HF_DATASETS_CACHE).is_relative_to(hf_env.home)
