"""lens.hub against a real HTTP server (the fake Hub), driven through unmodified huggingface_hub."""

from __future__ import annotations

import collections
import functools
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save as save_safetensors

from mistudio.errors import status_of
from mistudio.lens.hub import (
    REPO_ID_RULE,
    CorruptedFile,
    DownloadCancelled,
    DownloadProgress,
    GatedRepoError,
    HubUnavailable,
    InsufficientDisk,
    InvalidRepoId,
    RepoFile,
    RepoNotFound,
    download_repo,
    preview_repo,
    resolve_token,
    select_model_files,
    validate_repo_id,
    verify_file,
)
from tests.support.fake_hub import FakeHub
from tests.support.hub_fixtures import HfEnv, TinyModels

WEIGHTS = "model.safetensors"
CONFIG = '{"model_type": "llama", "hidden_size": 512}'


@functools.lru_cache(maxsize=1)
def big_weights() -> bytes:
    """A real 4 MiB safetensors file: big enough for a drop, a throttle or a cancel to land mid-transfer."""
    tensor = np.random.default_rng(0).standard_normal(1 << 20, dtype=np.float32)
    return save_safetensors({"model.embed_tokens.weight": tensor})


def publish_big(hub: FakeHub, repo_id: str, weights: bytes | Path | None = None) -> str:
    hub.add_model_repo(repo_id, {WEIGHTS: weights if weights is not None else big_weights(), "config.json": CONFIG,
                                 "README.md": "# big\n"})
    return repo_id


def gets(hub: FakeHub, repo_id: str, path: str | None = None) -> list:
    """The GET requests for the repo's files (or one file), oldest first."""
    prefix = f"/{repo_id}/resolve/"
    return [r for r in hub.requests_for(prefix, "GET") if path is None or r.path.endswith(f"/{path}")]


def partial_files(dest: Path) -> list[Path]:
    return [p for p in (dest / ".partial").glob("*")] if (dest / ".partial").exists() else []


# --- ids, tokens, selection --------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["gpt2", "a/b/c", "../etc", "owner/..", "a b/c", "a/b\n", "", "a/b?x=1", "/a"])
def test_a_repo_id_that_is_not_owner_slash_name_is_refused_naming_the_rule(bad: str) -> None:
    with pytest.raises(InvalidRepoId) as error:
        validate_repo_id(bad)

    assert REPO_ID_RULE in error.value.message
    assert status_of(error.value) == 400


def test_a_valid_repo_id_is_returned_and_preview_refuses_a_bad_one_before_any_request(hf_env: HfEnv) -> None:
    assert validate_repo_id("HuggingFaceTB/SmolLM2-135M.v1_x") == "HuggingFaceTB/SmolLM2-135M.v1_x"
    with pytest.raises(InvalidRepoId):
        preview_repo("../../etc/passwd")
    assert hf_env.hub.requests == []


def test_select_model_files_takes_safetensors_config_and_tokenizer_and_nothing_else() -> None:
    repo = [
        "config.json", "generation_config.json", "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors", "model.safetensors.index.json", "pytorch_model-00001-of-00002.bin",
        "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json", "consolidated.safetensors",
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "vocab.json",
        "merges.txt", "added_tokens.json", "chat_template.jinja", "README.md", ".gitattributes", "onnx/model.onnx",
        "onnx/model.safetensors", "flax_model.msgpack", "tf_model.h5", "model-q4.gguf", "original/params.json",
        "original/consolidated.00.pth", "assets/logo.png", "banner.jpg", "training_args.bin",
    ]

    assert select_model_files(repo) == [
        "added_tokens.json", "chat_template.jinja", "config.json", "generation_config.json",
        "merges.txt", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model.safetensors.index.json", "special_tokens_map.json", "tokenizer.json", "tokenizer.model",
        "tokenizer_config.json", "vocab.json",
    ]


def test_select_model_files_takes_bin_weights_only_when_there_are_no_safetensors() -> None:
    repo = ["config.json", "pytorch_model.bin", "training_args.bin", "tokenizer.json", "flax_model.msgpack",
            "tf_model.h5", "README.md"]

    assert select_model_files(repo) == ["config.json", "pytorch_model.bin", "tokenizer.json"]


def test_an_explicit_token_wins_and_hf_token_is_the_fallback(monkeypatch: pytest.MonkeyPatch, hf_env: HfEnv) -> None:
    assert resolve_token(None) is None
    monkeypatch.setenv("HF_TOKEN", "hf_from_environment")

    assert resolve_token(None) == "hf_from_environment"
    assert resolve_token("hf_explicit") == "hf_explicit"


# --- preview -----------------------------------------------------------------------------------------------
def test_preview_reports_files_size_license_gating_and_the_exact_parameter_count(
        hf_env: HfEnv, tiny_models: TinyModels) -> None:
    from transformers import AutoModelForCausalLM

    repo_id = tiny_models.publish(hf_env.hub, "llama", "hub-preview/llama")
    model_dir = tiny_models("llama")
    model_files = sorted(p.name for p in model_dir.iterdir())

    preview = preview_repo(repo_id)

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    assert preview.parameter_count == sum(p.numel() for p in model.parameters())
    assert [f.path for f in preview.files] == model_files  # everything but the README
    assert preview.total_files == len(model_files) + 1
    assert preview.download_bytes == sum((model_dir / name).stat().st_size for name in model_files)
    assert preview.revision == hf_env.hub.commit_sha(repo_id)
    assert (preview.license, preview.gated, preview.private) == ("apache-2.0", False, False)
    assert preview.pipeline_tag == "text-generation" and "license:apache-2.0" in preview.tags
    assert preview.config == json.loads((model_dir / "config.json").read_text())
    assert preview.has_safetensors
    weights = next(f for f in preview.files if f.path == WEIGHTS)
    assert weights.sha256 == hf_env.hub.file(repo_id, WEIGHTS).sha256
    # No weights were downloaded to answer: the only file body fetched is config.json.
    assert [r.path.rsplit("/", 1)[-1] for r in gets(hf_env.hub, repo_id)] == ["config.json"]


def test_an_unknown_repo_or_revision_is_reported_as_not_found(hf_env: HfEnv, tiny_models: TinyModels) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "gpt2", "hub-missing/gpt2")

    with pytest.raises(RepoNotFound) as repo_error:
        preview_repo("hub-missing/nothing-here")
    with pytest.raises(RepoNotFound) as revision_error:
        preview_repo(repo_id, revision="v9")

    assert status_of(repo_error.value) == 404
    assert "'hub-missing/nothing-here'" in repo_error.value.message and hf_env.url in repo_error.value.message
    assert "revision 'v9'" in revision_error.value.message


def test_a_private_repo_is_not_found_without_a_token_and_opens_with_one(
        hf_env: HfEnv, tiny_models: TinyModels) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "gpt2", "hub-private/gpt2", private=True)

    with pytest.raises(RepoNotFound) as error:
        preview_repo(repo_id)

    assert "provide a token" in error.value.message
    assert preview_repo(repo_id, token=hf_env.token).private


def test_the_endpoint_argument_is_used_instead_of_hf_endpoint(hf_env: HfEnv, tmp_path: Path) -> None:
    with FakeHub() as other:
        other.add_model_repo("elsewhere/model", {"config.json": CONFIG, WEIGHTS: big_weights(),
                                                 "added_tokens.json": ""})
        preview = preview_repo("elsewhere/model", endpoint=other.url)
        result = download_repo("elsewhere/model", tmp_path / "m", endpoint=other.url)

        assert preview.revision == result.revision == other.commit_sha("elsewhere/model")
        assert len(gets(other, "elsewhere/model")) == 3  # config for the preview, then config and weights
        assert (tmp_path / "m" / "added_tokens.json").read_bytes() == b""  # an empty file needs no request
    assert hf_env.hub.requests == []


# --- tokens and gating -------------------------------------------------------------------------------------
def test_a_gated_repo_needs_a_token_and_no_error_message_contains_one(
        hf_env: HfEnv, tiny_models: TinyModels, tmp_path: Path) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "gpt2", "hub-gated/gpt2", gated=True)
    wrong = "hf_wrong_secret_123"

    preview = preview_repo(repo_id)  # the metadata of a gated repo is public
    with pytest.raises(GatedRepoError) as without_token:
        download_repo(repo_id, tmp_path / "a")
    with pytest.raises(GatedRepoError) as wrong_token:
        download_repo(repo_id, tmp_path / "b", token=wrong)
    result = download_repo(repo_id, tmp_path / "c", token=hf_env.token)

    assert preview.gated and preview.config is None
    for error in (without_token.value, wrong_token.value):
        assert status_of(error) == 403
        assert f"accept its licence at {hf_env.url}/{repo_id}" in error.message and "HF_TOKEN" in error.message
        assert hf_env.token not in f"{error.message} {error.details}" and wrong not in f"{error.message} {error}"
    assert (tmp_path / "c" / WEIGHTS).stat().st_size == hf_env.hub.file(repo_id, WEIGHTS).size
    assert result.revision == hf_env.hub.commit_sha(repo_id)
    # The token travels in the Authorization header only, never in a URL.
    assert all(hf_env.token not in f"{r.path} {r.query}" for r in hf_env.hub.requests)
    assert {r.headers.get("authorization") for r in gets(hf_env.hub, repo_id) if r.status == 200} == {
        f"Bearer {hf_env.token}"}


def test_the_hf_token_login_opens_a_gated_repo_without_a_token_argument(
        hf_env: HfEnv, tiny_models: TinyModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "gpt2", "hub-gated-env/gpt2", gated=True)
    monkeypatch.setenv("HF_TOKEN", hf_env.token)

    result = download_repo(repo_id, tmp_path / "m")

    assert (tmp_path / "m" / WEIGHTS).is_file() and result.bytes_transferred == result.bytes_total


# --- download ----------------------------------------------------------------------------------------------
def test_download_lands_verified_files_with_progress_rising_to_the_total(
        hf_env: HfEnv, tiny_models: TinyModels, tmp_path: Path) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "llama", "hub-download/llama")
    dest, reports = tmp_path / "m", []

    result = download_repo(repo_id, dest, on_progress=reports.append)

    model_dir = tiny_models("llama")
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in model_dir.iterdir())
    assert all((dest / f.path).read_bytes() == (model_dir / f.path).read_bytes() for f in result.files)
    assert result.bytes_total == sum(f.size for f in result.files) == result.bytes_transferred
    done = [r.bytes_done for r in reports]
    assert done == sorted(done) and done[-1] == result.bytes_total
    assert reports[-1] == DownloadProgress(result.bytes_total, result.bytes_total, reports[-1].bytes_per_second,
                                           0.0, None, len(result.files), len(result.files))


def test_files_already_complete_and_verified_are_not_fetched_again(
        hf_env: HfEnv, tiny_models: TinyModels, tmp_path: Path) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "llama", "hub-skip/llama")
    download_repo(repo_id, tmp_path / "m")
    hf_env.hub.clear_requests()
    reports: list[DownloadProgress] = []

    again = download_repo(repo_id, tmp_path / "m", on_progress=reports.append)

    assert again.bytes_transferred == 0 and gets(hf_env.hub, repo_id) == []
    assert reports[-1].bytes_done == again.bytes_total and reports[-1].files_done == len(again.files)


def test_a_dropped_connection_is_resumed_with_a_range_request_not_restarted(hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = publish_big(hf_env.hub, "hub-resume/in-call")
    size = hf_env.hub.file(repo_id, WEIGHTS).size
    hf_env.hub.drop_connection_after(f"{repo_id}/{WEIGHTS}", size // 2)

    result = download_repo(repo_id, tmp_path / "m", backoff_seconds=0.01)

    assert (tmp_path / "m" / WEIGHTS).read_bytes() == big_weights()
    first, second = gets(hf_env.hub, repo_id, WEIGHTS)
    resumed_at = int(second.range.removeprefix("bytes=").rstrip("-"))
    assert first.range is None and 0 < resumed_at <= size // 2 and second.status == 206
    assert result.bytes_transferred - len(CONFIG) < 1.2 * size


def test_a_later_call_resumes_where_an_interrupted_download_stopped(hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = publish_big(hf_env.hub, "hub-resume/later")
    size = hf_env.hub.file(repo_id, WEIGHTS).size
    hf_env.hub.drop_connection_after(f"{repo_id}/{WEIGHTS}", size * 3 // 5)
    dest = tmp_path / "m"

    with pytest.raises(HubUnavailable) as error:
        download_repo(repo_id, dest, max_retries=0)
    (partial,) = partial_files(dest)
    kept = partial.stat().st_size
    hf_env.hub.clear_requests()
    result = download_repo(repo_id, dest)

    assert status_of(error.value) == 503 and "resumes where it stopped" in error.value.message
    assert 0 < kept < size
    assert [r.range for r in gets(hf_env.hub, repo_id)] == [f"bytes={kept}-"]  # config.json was already done
    assert result.bytes_transferred == size - kept
    assert (dest / WEIGHTS).read_bytes() == big_weights() and partial_files(dest) == []


def test_cancel_stops_the_transfer_within_a_second_and_removes_the_partial_file(
        hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = publish_big(hf_env.hub, "hub-cancel/big")
    hf_env.hub.throttle(1_000_000, f"{repo_id}/{WEIGHTS}")  # 4 s for the whole file
    dest, cancelled_at, reports = tmp_path / "m", [], []

    def on_progress(progress: DownloadProgress) -> None:
        reports.append(progress)
        if progress.current_file == WEIGHTS and progress.bytes_done > len(CONFIG) + 300_000 and not cancelled_at:
            cancelled_at.append(time.monotonic())

    with pytest.raises(DownloadCancelled):
        download_repo(repo_id, dest, on_progress=on_progress, should_stop=lambda: bool(cancelled_at))

    assert time.monotonic() - cancelled_at[0] < 1.0
    assert partial_files(dest) == [] and not (dest / WEIGHTS).exists()
    moving = [r for r in reports if r.current_file == WEIGHTS and r.bytes_per_second > 0]
    assert moving and all(r.eta_seconds is not None and r.eta_seconds > 0 for r in moving)


def test_transient_hub_errors_are_retried_then_reported_as_unavailable(
        hf_env: HfEnv, tiny_models: TinyModels, tmp_path: Path) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "gpt2", "hub-retry/gpt2")
    hf_env.hub.fail_requests(f"{repo_id}/config.json", 503, times=2)

    download_repo(repo_id, tmp_path / "a", backoff_seconds=0.01)
    statuses = [r.status for r in gets(hf_env.hub, repo_id, "config.json")]
    hf_env.hub.fail_requests(f"{repo_id}/tokenizer.json", 502, times=10)
    with pytest.raises(HubUnavailable) as error:
        download_repo(repo_id, tmp_path / "b", max_retries=2, backoff_seconds=0.01)

    assert statuses == [503, 503, 200]
    assert [r.status for r in gets(hf_env.hub, repo_id, "tokenizer.json")][-3:] == [502, 502, 502]
    assert "HTTP 502" in error.value.message and hf_env.url in error.value.message


def test_a_served_file_that_does_not_match_its_hash_is_deleted_and_only_it_is_fetched_again(
        hf_env: HfEnv, tmp_path: Path) -> None:
    served = tmp_path / "served.safetensors"
    served.write_bytes(big_weights())
    repo_id = publish_big(hf_env.hub, "hub-corrupt/big", served)
    tampered = bytearray(big_weights())
    tampered[-1] ^= 0xFF  # same size, header intact: only the hash can tell
    served.write_bytes(bytes(tampered))
    dest = tmp_path / "m"

    with pytest.raises(CorruptedFile) as error:
        download_repo(repo_id, dest)
    served.write_bytes(big_weights())
    hf_env.hub.clear_requests()
    download_repo(repo_id, dest)

    assert error.value.path == WEIGHTS and f"'{WEIGHTS}'" in error.value.message
    assert error.value.code == "corrupted_file"
    assert [r.path.rsplit("/", 1)[-1] for r in gets(hf_env.hub, repo_id)] == [WEIGHTS]
    assert (dest / WEIGHTS).read_bytes() == big_weights() and (dest / "config.json").read_text() == CONFIG


def test_verify_file_checks_git_blob_sha1_for_small_files_and_sha256_for_lfs_ones(
        hf_env: HfEnv, tiny_models: TinyModels, tmp_path: Path) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "llama", "hub-verify/llama")
    dest = tmp_path / "m"
    files = {f.path: f for f in download_repo(repo_id, dest).files}
    config, weights = files["config.json"], files[WEIGHTS]
    verify_file(dest / "config.json", config)
    verify_file(dest / WEIGHTS, weights)

    text = (dest / "config.json").read_text()
    (dest / "config.json").write_text(text.replace("2", "3", 1))
    data = bytearray((dest / WEIGHTS).read_bytes())
    data[-1] ^= 1
    (dest / WEIGHTS).write_bytes(bytes(data))
    for path, expected in ((dest / "config.json", config), (dest / WEIGHTS, weights)):
        with pytest.raises(CorruptedFile) as error:
            verify_file(path, expected)
        assert error.value.path == expected.path
    hf_env.hub.clear_requests()
    download_repo(repo_id, dest)  # a later call replaces exactly the files that no longer match

    assert config.sha256 is None and config.blob_id and weights.sha256
    assert sorted(r.path.rsplit("/", 1)[-1] for r in gets(hf_env.hub, repo_id)) == ["config.json", WEIGHTS]
    assert (dest / "config.json").read_text() == text


def test_a_download_that_cannot_fit_on_disk_is_refused_before_any_transfer(
        hf_env: HfEnv, tiny_models: TinyModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo_id = tiny_models.publish(hf_env.hub, "gpt2", "hub-disk/gpt2")
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))

    with pytest.raises(InsufficientDisk) as error:
        download_repo(repo_id, tmp_path / "m")

    assert status_of(error.value) == 400 and error.value.code == "insufficient_disk"
    assert f"GB free at {tmp_path / 'm'}" in error.value.message and gets(hf_env.hub, repo_id) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to produce a real ENOSPC")
def test_a_disk_that_fills_up_mid_download_is_reported_and_the_partial_file_removed(
        hf_env: HfEnv, tmp_path: Path) -> None:
    repo_id = publish_big(hf_env.hub, "hub-full/big")
    weights = hf_env.hub.file(repo_id, WEIGHTS)
    dest = tmp_path / "m"
    partial = dest / ".partial" / f"{weights.sha256}.part"
    partial.parent.mkdir(parents=True)
    partial.symlink_to("/dev/full")  # every write there fails with ENOSPC

    with pytest.raises(InsufficientDisk) as error:
        download_repo(repo_id, dest, files=[RepoFile(WEIGHTS, weights.size, weights.sha256, weights.blob_id)])

    assert "GB free at" in error.value.message
    assert not partial.is_symlink() and not (dest / WEIGHTS).exists()
