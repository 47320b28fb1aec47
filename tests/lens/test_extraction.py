"""lens.extraction on real tiny models: stored values, early stop, padding, resume, OOM backoff, statistics, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mistudio.errors import status_of
from mistudio.lens.data_tokenized import TokenizedSequences
from mistudio.lens.errors import InvalidArgument
from mistudio.lens.extraction import (
    STORAGE_DTYPES,
    ExtractionCancelled,
    ExtractionOutOfMemory,
    ExtractionProgress,
    extract,
    open_activations,
)
from mistudio.lens.extraction_store import BFloat16Array
from mistudio.lens.hooks import InvalidHookPoint, decoder_layers, hook_point_names, resolve_hook_point
from tests.lens.test_architecture import ALL_CAUSAL_FAMILIES

HIDDEN = 64
LENGTHS = (7, 3, 9, 1, 5)  # variable lengths: the first batch of 4 is padded, the last batch holds one sequence
ROOT = Path(__file__).resolve().parents[2]


def _sequences(lengths: tuple[int, ...] = LENGTHS, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(5, 500, size=length).astype(np.int32) for length in lengths]


def _tokenized(sequences: list[np.ndarray]) -> TokenizedSequences:
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sequences])]).astype(np.int64)
    return TokenizedSequences(np.concatenate(sequences), offsets, {})


def _direct_capture(model: torch.nn.Module, ids: np.ndarray, points: list[str]) -> dict[str, torch.Tensor]:
    """The reference: plain register_forward_(pre_)hook on the HF modules, one unpadded sequence, full forward."""
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for point in points:
        site = resolve_hook_point(model, point)
        if site.reads == "input":
            handles.append(site.module.register_forward_pre_hook(
                lambda m, args, kwargs, p=point: captured.__setitem__(p, (args[0] if args else kwargs[
                    "hidden_states"]).detach().clone()), with_kwargs=True))
        else:
            handles.append(site.module.register_forward_hook(
                lambda m, args, out, p=point: captured.__setitem__(
                    p, (out[0] if isinstance(out, tuple) else out).detach().clone())))
    try:
        with torch.no_grad():
            model(input_ids=torch.from_numpy(ids.astype(np.int64))[None])
    finally:
        for handle in handles:
            handle.remove()
    return {point: value[0] for point, value in captured.items()}


def _file_bytes(dest: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(dest.iterdir())
            if path.suffix == ".npy" or path.name == "statistics.json"}


@pytest.mark.parametrize("family", ALL_CAUSAL_FAMILIES)
def test_stored_values_equal_a_direct_forward_hook_capture(load_model: Callable[[str], torch.nn.Module],
                                                           family: str, tmp_path: Path) -> None:
    model = load_model(family)
    points = hook_point_names(2)
    sequences = _sequences()
    result = extract(model, sequences, tmp_path, hook_points=points, batch_size=4, pad_token_id=3)
    assert (result.samples, result.seq_len, result.hook_points) == (5, 9, points)
    acts = open_activations(tmp_path)
    for index, ids in enumerate(sequences):
        reference = _direct_capture(model, ids, points)
        for point in points:
            stored = acts[point]
            assert stored.shape == (5, 9, HIDDEN)
            torch.testing.assert_close(torch.from_numpy(np.array(stored[index, :len(ids)])), reference[point],
                                       rtol=1e-4, atol=1e-5, msg=lambda m, p=point: f"{family} {p}: {m}")
            assert not stored[index, len(ids):].any()  # padding stored as zeros


@pytest.mark.parametrize("dtype, tolerance", [("fp16", 1e-3), ("bf16", 8e-3)])
def test_half_precision_storage_is_the_rounded_fp32_values(load_model: Callable[[str], torch.nn.Module],
                                                           tmp_path: Path, dtype: str, tolerance: float) -> None:
    model = load_model("llama")
    points = ["blocks.0.resid_post", "blocks.1.mlp_out"]
    extract(model, _sequences(), tmp_path / "half", hook_points=points, batch_size=2, dtype=dtype)
    extract(model, _sequences(), tmp_path / "full", hook_points=points, batch_size=2)
    half, full = open_activations(tmp_path / "half"), open_activations(tmp_path / "full")
    assert half.metadata["numpy_dtype"] == {"fp16": "float16", "bf16": "uint16"}[dtype]
    for point in points:
        torch_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
        expected = torch.from_numpy(np.array(full[point])).to(torch_dtype).float()
        stored = torch.from_numpy(np.asarray(half[point], dtype=np.float32))
        assert torch.equal(stored, expected)  # exactly fp32 rounded once to the storage dtype
        torch.testing.assert_close(stored, torch.from_numpy(np.array(full[point])), rtol=tolerance, atol=tolerance)


def test_early_stop_gives_the_same_files_and_skips_later_layers_and_the_lm_head(
        load_model: Callable[[str], torch.nn.Module], tmp_path: Path) -> None:
    model = load_model("llama")
    calls: dict[str, int] = {"layer1": 0, "lm_head": 0}
    def counter(name: str) -> Callable[..., None]:
        return lambda *args: calls.__setitem__(name, calls[name] + 1)

    handles = [decoder_layers(model)[1].register_forward_hook(counter("layer1")),
               model.lm_head.register_forward_hook(counter("lm_head"))]
    try:
        for early in (True, False):
            extract(model, _sequences(), tmp_path / str(early), batch_size=2, early_stop=early,
                    hook_points=["blocks.0.attn_out", "blocks.0.resid_post"])
            assert calls == ({"layer1": 0, "lm_head": 0} if early else {"layer1": 3, "lm_head": 3})
    finally:
        for handle in handles:
            handle.remove()
    assert _file_bytes(tmp_path / "True") == _file_bytes(tmp_path / "False")
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()) == 0


def test_padding_and_attention_mask_for_variable_length_sequences(load_model: Callable[[str], torch.nn.Module],
                                                                  tmp_path: Path) -> None:
    model = load_model("gpt2")
    sequences = _sequences()
    extract(model, _tokenized(sequences), tmp_path, hook_points=["blocks.1.resid_post"], batch_size=2,
            pad_token_id=3)
    acts = open_activations(tmp_path)
    mask = acts.attention_mask
    assert mask.dtype == np.uint8 and mask.shape == (5, 9)
    assert mask.sum(axis=1).tolist() == list(LENGTHS)
    assert all(mask[i, :length].all() and not mask[i, length:].any() for i, length in enumerate(LENGTHS))
    stored = acts["blocks.1.resid_post"]
    for i, ids in enumerate(sequences):  # each padded row equals the sequence run alone, unpadded
        alone = _direct_capture(model, ids, ["blocks.1.resid_post"])["blocks.1.resid_post"]
        torch.testing.assert_close(torch.from_numpy(np.array(stored[i, :len(ids)])), alone, rtol=1e-4, atol=1e-5)
    assert acts.metadata["tokens"] == sum(LENGTHS)


def test_cancel_then_resume_is_byte_identical_to_an_uninterrupted_run(load_model: Callable[[str], torch.nn.Module],
                                                                      tmp_path: Path) -> None:
    model = load_model("qwen2")
    sequences = _sequences((6, 2, 8, 8, 3, 5, 4, 7, 1), seed=1)
    arguments = {"hook_points": ["blocks.0.resid_pre", "blocks.1.mlp_out"], "batch_size": 2, "dtype": "fp16"}
    whole = extract(model, sequences, tmp_path / "whole", **arguments)
    batches = iter(range(100))
    with pytest.raises(ExtractionCancelled, match="after 4 of 9 samples"):
        extract(model, sequences, tmp_path / "parts", should_stop=lambda: next(batches) >= 2, **arguments)
    assert json.loads((tmp_path / "parts" / "progress.json").read_text())["samples_done"] == 4
    assert not open_activations(tmp_path / "parts").complete
    # What a kill between two checkpoint steps leaves: a statistics state that progress.json does not name.
    (tmp_path / "parts" / "progress_state_000000000002.npz").write_bytes(b"stale")
    events: list[ExtractionProgress] = []
    resumed = extract(model, sequences, tmp_path / "parts", on_progress=events.append, **arguments)
    assert resumed.resumed_from == 4 and whole.resumed_from == 0
    assert [e.samples_done for e in events] == [6, 8, 9] and events[-1].eta_seconds == 0
    assert _file_bytes(tmp_path / "parts") == _file_bytes(tmp_path / "whole")
    assert resumed.statistics == whole.statistics
    assert len(list((tmp_path / "parts").glob("progress_state_*.npz"))) == 1
    again = extract(model, sequences, tmp_path / "parts", **arguments)  # complete already: nothing recomputed
    assert again.resumed_from == 9 and again.statistics == whole.statistics


_CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np, torch
    from transformers import AutoModelForCausalLM
    from mistudio.lens.extraction import extract
    model = AutoModelForCausalLM.from_pretrained(sys.argv[1]).eval()
    model.model.layers[0].register_forward_hook(lambda *a: time.sleep(0.15))
    rng = np.random.default_rng(2)
    sequences = [rng.integers(5, 500, size=int(n)) for n in rng.integers(1, 12, size=24)]
    extract(model, sequences, sys.argv[2], hook_points=["blocks.0.attn_out", "blocks.1.resid_post"], batch_size=2)
""")


def test_a_killed_run_resumes_in_a_new_process_byte_identical(load_model: Callable[[str], torch.nn.Module],
                                                              tiny_models: Any, tmp_path: Path) -> None:
    folder = tiny_models("llama")
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder), str(killed)], env=env)
    progress = killed / "progress.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if progress.is_file() and json.loads(progress.read_text())["samples_done"] >= 6:
            break
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    done = json.loads(progress.read_text())["samples_done"]
    assert 6 <= done < 24, f"killed after {done} samples; child exit {child.returncode}"
    model = load_model("llama")
    rng = np.random.default_rng(2)
    sequences = [rng.integers(5, 500, size=int(n)) for n in rng.integers(1, 12, size=24)]
    arguments = {"hook_points": ["blocks.0.attn_out", "blocks.1.resid_post"], "batch_size": 2}
    resumed = extract(model, sequences, killed, **arguments)
    assert resumed.resumed_from == done
    extract(model, sequences, tmp_path / "whole", **arguments)
    killed_files, whole_files = _file_bytes(killed), _file_bytes(tmp_path / "whole")
    assert killed_files == whole_files, [name for name in whole_files if killed_files.get(name) != whole_files[name]]
    assert len(list(killed.glob("progress_state_*.npz"))) == 1


@pytest.mark.parametrize("make_error", [
    lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    lambda: RuntimeError("[enforce fail] DefaultCPUAllocator: can't allocate memory: out of memory"),
    lambda: MemoryError(),
])
def test_out_of_memory_halves_the_batch_and_retries_it(load_model: Callable[[str], torch.nn.Module], tmp_path: Path,
                                                       make_error: Callable[[], BaseException]) -> None:
    model = load_model("llama")
    sequences = _sequences((4, 6, 2, 5, 3, 8, 7, 1, 2, 9))

    def limit(module: Any, args: tuple, output: Any) -> None:
        if output[0].shape[0] > 2 if isinstance(output, tuple) else output.shape[0] > 2:
            raise make_error()

    handle = decoder_layers(model)[0].register_forward_hook(limit)
    events: list[ExtractionProgress] = []
    try:
        result = extract(model, sequences, tmp_path / "oom", hook_points=["blocks.1.resid_post"], batch_size=8,
                         on_progress=events.append)
    finally:
        handle.remove()
    assert result.batch_size == 2
    assert [e.batch_size for e in events] == [4, 2, 2, 2, 2, 2, 2]
    assert [e.samples_done for e in events] == [0, 0, 2, 4, 6, 8, 10]
    metadata = open_activations(tmp_path / "oom").metadata
    assert metadata["oom_retries"] == [{"at_sample": 0, "from": 8, "to": 4}, {"at_sample": 0, "from": 4, "to": 2}]
    assert (metadata["batch_sizes_used"], metadata["final_batch_size"], metadata["batch_size"]) == ([2], 2, 8)
    extract(model, sequences, tmp_path / "small", hook_points=["blocks.1.resid_post"], batch_size=2)
    assert _file_bytes(tmp_path / "oom") == _file_bytes(tmp_path / "small")


def test_out_of_memory_at_batch_size_one_and_other_errors_are_raised(load_model: Callable[[str], torch.nn.Module],
                                                                     tmp_path: Path) -> None:
    model = load_model("llama")
    layer = decoder_layers(model)[0]
    handle = layer.register_forward_hook(lambda *a: (_ for _ in ()).throw(torch.cuda.OutOfMemoryError("OOM")))
    try:
        with pytest.raises(ExtractionOutOfMemory, match="even with a batch size of 1") as raised:
            extract(model, _sequences(), tmp_path / "a", hook_points=["blocks.0.resid_post"], batch_size=4)
        assert status_of(raised.value) == 503
    finally:
        handle.remove()
    handle = layer.register_forward_hook(lambda *a: (_ for _ in ()).throw(ValueError("a bug")))
    try:
        with pytest.raises(ValueError, match="a bug"):
            extract(model, _sequences(), tmp_path / "b", hook_points=["blocks.0.resid_post"], batch_size=4)
    finally:
        handle.remove()
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()) == 0


def test_statistics_equal_numpy_on_the_stored_arrays(load_model: Callable[[str], torch.nn.Module],
                                                     tmp_path: Path) -> None:
    model = load_model("gemma2")
    points = ["blocks.0.mlp_out", "blocks.1.resid_post"]
    result = extract(model, _sequences((5, 9, 2, 7, 4, 6, 3)), tmp_path, hook_points=points, batch_size=2,
                     dtype="bf16", sparsity_eps=1e-2)
    acts = open_activations(tmp_path)
    mask = np.array(acts.attention_mask, dtype=bool)
    assert acts.statistics == result.statistics == json.loads((tmp_path / "statistics.json").read_text())
    for point in points:
        values = np.asarray(acts[point], dtype=np.float64)
        valid = values[mask]  # [tokens, d]
        stats = result.statistics[point]
        assert stats["tokens"] == len(valid) == mask.sum()
        np.testing.assert_allclose(stats["mean_norm"], np.linalg.norm(valid, axis=1).mean(), rtol=1e-12)
        assert stats["max_abs"] == np.abs(valid).max()
        assert stats["sparsity"] == np.mean(np.abs(valid) < 1e-2) and stats["sparsity_eps"] == 1e-2
        np.testing.assert_allclose(stats["dim_mean"], valid.mean(axis=0), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(stats["dim_var"], valid.var(axis=0), rtol=1e-10, atol=1e-12)
        first_batch = values[:2][mask[:2]]
        limit = 1.5 * np.abs(first_batch).max()
        edges = np.array(stats["histogram"]["edges"])
        np.testing.assert_array_equal(edges, np.linspace(-limit, limit, 51))
        counts, _ = np.histogram(np.clip(valid, -limit, limit), bins=edges)
        assert stats["histogram"]["counts"] == counts.tolist() and sum(counts) == valid.size


def test_bad_input_is_refused_naming_the_field_and_the_allowed_range(load_model: Callable[[str], torch.nn.Module],
                                                                     tmp_path: Path) -> None:
    model = load_model("llama")
    sequences = _sequences()

    def refused(error: type[Exception], words: list[str], **arguments: Any) -> InvalidArgument:
        with pytest.raises(error) as raised:
            extract(model, sequences, tmp_path / "bad", **{"hook_points": ["blocks.0.resid_post"], **arguments})
        assert all(word in raised.value.message for word in words), raised.value.message
        return raised.value

    refused(InvalidHookPoint, ["layer 5", "layer 0..1"], hook_points=["blocks.5.resid_post"])
    refused(InvalidHookPoint, ["unknown type 'resid_mid'"], hook_points=["blocks.0.resid_mid"])
    refused(InvalidArgument, ["hook_points"], hook_points=[])
    for size in (0, 3, -2, 2.0):
        assert refused(InvalidArgument, ["batch_size must be a power of 2"], batch_size=size).details["field"] \
            == "batch_size"
    assert refused(InvalidArgument, ["max_samples must be between 1 and 5"], max_samples=6).details == {
        "field": "max_samples", "min": 1, "max": 5}
    refused(InvalidArgument, ["max_samples must be between 1 and 5"], max_samples=0)
    refused(InvalidArgument, ["dtype must be one of fp32, fp16, bf16"], dtype="int8")
    refused(InvalidArgument, ["metadata keys samples are reserved"], metadata={"samples": 1})
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").glob("*.npy"))
    with pytest.raises(InvalidArgument, match="no sequences"):
        extract(model, [], tmp_path / "empty", hook_points=["blocks.0.resid_post"])
    assert STORAGE_DTYPES == ("fp32", "fp16", "bf16")


def test_resuming_with_different_arguments_is_refused_saying_which(load_model: Callable[[str], torch.nn.Module],
                                                                   tmp_path: Path) -> None:
    model = load_model("llama")
    with pytest.raises(ExtractionCancelled):
        extract(model, _sequences(), tmp_path, hook_points=["blocks.0.resid_post"], batch_size=2,
                should_stop=lambda: True)
    with pytest.raises(InvalidArgument, match="different arguments .*batch_size: was 2, now 4"):
        extract(model, _sequences(), tmp_path, hook_points=["blocks.0.resid_post"], batch_size=4)
    with pytest.raises(InvalidArgument, match="the token sequences differ"):
        extract(model, _sequences(seed=5), tmp_path, hook_points=["blocks.0.resid_post"], batch_size=2)
    result = extract(model, _sequences(), tmp_path, hook_points=["blocks.0.resid_post"], batch_size=2,
                     metadata={"dataset": "d1"})  # caller metadata is not an argument of the run
    assert result.resumed_from == 0 and open_activations(tmp_path).metadata["dataset"] == "d1"


def test_open_activations_is_lazy_and_describes_the_extraction(load_model: Callable[[str], torch.nn.Module],
                                                               tmp_path: Path) -> None:
    model = load_model("mistral")
    points = ["blocks.1.attn_out", "blocks.0.resid_pre"]
    result = extract(model, _sequences(), tmp_path / "f", hook_points=points, batch_size=4, max_samples=3,
                     metadata={"dataset_id": "abc"})
    assert result.files == {"blocks.1.attn_out": "layer_1_attn_out.npy", "blocks.0.resid_pre": "layer_0_resid_pre.npy",
                            "attention_mask": "attention_mask.npy"}
    assert result.bytes_written == sum((tmp_path / "f" / name).stat().st_size for name in result.files.values())
    acts = open_activations(tmp_path / "f")
    assert len(acts) == 3 and acts.hook_points == points and acts.complete and "blocks.1.attn_out" in acts
    array = acts["blocks.1.attn_out"]
    assert isinstance(array, np.memmap) and array.shape == (3, 9, HIDDEN) and array.dtype == np.float32
    metadata = acts.metadata
    assert (metadata["layers"], metadata["shape"], metadata["dataset_id"]) == ([0, 1], [3, 9, HIDDEN], "abc")
    assert metadata["versions"]["torch"] == torch.__version__ and metadata["model_type"] == "mistral"
    with pytest.raises(KeyError, match="was not extracted here"):
        acts["blocks.0.mlp_out"]
    extract(model, _sequences(), tmp_path / "b", hook_points=points, batch_size=4, dtype="bf16")
    bf16 = open_activations(tmp_path / "b")["blocks.1.attn_out"]
    assert isinstance(bf16, BFloat16Array) and isinstance(bf16.raw, np.memmap) and bf16.raw.dtype == np.uint16
    assert bf16.shape == (5, 9, HIDDEN) and bf16[1:2].dtype == np.float32
    np.testing.assert_allclose(bf16[:3], array, rtol=8e-3, atol=1e-5)
    with pytest.raises(InvalidArgument, match="not an extraction folder"):
        open_activations(tmp_path)


def test_the_lens_package_exports_extract_without_importing_torch_for_the_hub() -> None:
    # The function lives in lens/extraction.py, so `mistudio.lens.extract` is never shadowed by a module.
    code = ("import sys, mistudio.lens.hub; assert 'torch' not in sys.modules; "
            "from mistudio.lens import extract, open_activations; import mistudio.lens.extraction as module; "
            "import mistudio.lens; assert mistudio.lens.extract is extract is module.extract; "
            "assert mistudio.lens.open_activations is open_activations and callable(extract)")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def test_a_disk_that_fills_mid_run_keeps_completed_batches_and_resumes_identically(
        load_model: Callable[[str], torch.nn.Module], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from mistudio.lens import extraction_store

    model = load_model("llama")
    sequences = _sequences((6, 2, 8, 8, 3, 5, 4, 7, 1), seed=3)
    arguments = {"hook_points": ["blocks.1.resid_post"], "batch_size": 2}
    whole = extract(model, sequences, tmp_path / "whole", **arguments)
    real_write = extraction_store.write_json_atomic
    writes = iter(range(100))

    def fills_up(path: Path, value: Any) -> None:  # the third progress checkpoint finds the disk full
        if path.name == "progress.json" and next(writes) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, value)

    monkeypatch.setattr(extraction_store, "write_json_atomic", fills_up)
    with pytest.raises(extraction_store.ExtractionDiskFull, match="after 4 of 9 samples.*completed batches are kept"):
        extract(model, sequences, tmp_path / "parts", **arguments)
    monkeypatch.setattr(extraction_store, "write_json_atomic", real_write)
    assert json.loads((tmp_path / "parts" / "progress.json").read_text())["samples_done"] == 4
    resumed = extract(model, sequences, tmp_path / "parts", **arguments)
    assert resumed.resumed_from == 4
    assert _file_bytes(tmp_path / "parts") == _file_bytes(tmp_path / "whole")
    assert resumed.statistics == whole.statistics


def test_a_disk_too_small_for_the_files_fails_at_the_start_and_gives_the_space_back(
        load_model: Callable[[str], torch.nn.Module], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from mistudio.lens import extraction_store

    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(extraction_store.os, "posix_fallocate", no_space)
    with pytest.raises(extraction_store.ExtractionDiskFull, match="the activations need .* GB.*fp16/bf16") as error:
        extract(load_model("llama"), _sequences(), tmp_path / "x", hook_points=["blocks.0.resid_post"])
    assert error.value.details["needed_bytes"] == len(LENGTHS) * max(LENGTHS) * (HIDDEN * 4 + 1)
    assert not list((tmp_path / "x").glob("*.npy"))


def test_measure_forward_times_an_early_stopped_pass_without_writing(load_model: Callable[[str], torch.nn.Module],
                                                                     tmp_path: Path) -> None:
    from mistudio.lens.extraction_forward import measure_forward

    model = load_model("llama")
    calls: list[int] = []
    handle = model.lm_head.register_forward_hook(lambda *a: calls.append(1))
    try:
        timing = measure_forward(model, _sequences(), hook_points=["blocks.0.mlp_out"], samples=3)
    finally:
        handle.remove()
    assert timing.samples == 3 and timing.tokens == sum(LENGTHS[:3]) and timing.layers_run == 1
    assert timing.seconds > 0 and calls == []  # stopped after layer 0: the lm_head never ran


def test_the_histogram_bins_values_on_and_beside_the_edges_as_numpy_does() -> None:
    from mistudio.lens.extraction_stats import _histogram

    rng = np.random.default_rng(4)
    for limit in (1e-3, 0.37, 1.0, 3.3, 250.0):
        edges = np.linspace(-limit, limit, 51)
        values = np.concatenate([rng.normal(0, limit / 2, 2000), edges, np.nextafter(edges, np.inf),
                                 np.nextafter(edges, -np.inf), [3 * limit, -3 * limit, 0.0]])
        expected, _ = np.histogram(np.clip(values, -limit, limit), bins=edges)
        np.testing.assert_array_equal(_histogram(torch.from_numpy(values), edges), expected)
        as_float32 = values.astype(np.float32)
        expected, _ = np.histogram(np.clip(as_float32.astype(np.float64), -limit, limit), bins=edges)
        np.testing.assert_array_equal(_histogram(torch.from_numpy(as_float32), edges), expected)


def test_writing_a_batch_overlaps_the_next_forward_pass(load_model: Callable[[str], torch.nn.Module],
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mistudio.lens import extraction_store

    model = load_model("llama")
    events: list[tuple[str, float]] = []
    real_checkpoint = extraction_store.ExtractionRun.checkpoint

    def slow_checkpoint(run: Any) -> None:  # a slow disk
        events.append(("checkpoint starts", time.monotonic()))
        time.sleep(0.3)
        real_checkpoint(run)

    monkeypatch.setattr(extraction_store.ExtractionRun, "checkpoint", slow_checkpoint)
    handle = decoder_layers(model)[0].register_forward_pre_hook(
        lambda *a: events.append(("forward starts", time.monotonic())))
    try:
        extract(model, _sequences((5, 5, 5, 5, 5, 5)), tmp_path / "x", hook_points=["blocks.1.resid_post"],
                batch_size=2)
    finally:
        handle.remove()
    forwards = [at for name, at in events if name == "forward starts"]
    checkpoints = [at for name, at in events if name == "checkpoint starts"][1:]  # [0]: the one before any batch
    assert len(forwards) == len(checkpoints) == 3
    # the second and third forward passes start while the previous batch is still being checkpointed
    assert forwards[1] < checkpoints[0] + 0.3 and forwards[2] < checkpoints[1] + 0.3
    assert open_activations(tmp_path / "x").complete


def test_a_failure_while_writing_reaches_the_caller_and_keeps_earlier_batches(
        load_model: Callable[[str], torch.nn.Module], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mistudio.lens import extraction_store

    model = load_model("llama")
    real_write = extraction_store.ExtractionRun.write
    calls = iter(range(100))

    def broken_write(run: Any, start: int, activations: dict, mask: np.ndarray) -> None:
        if next(calls) == 2:
            raise PermissionError(13, "Permission denied")
        real_write(run, start, activations, mask)

    monkeypatch.setattr(extraction_store.ExtractionRun, "write", broken_write)
    with pytest.raises(PermissionError, match="Permission denied"):
        extract(model, _sequences(), tmp_path / "x", hook_points=["blocks.0.resid_post"], batch_size=1)
    assert json.loads((tmp_path / "x" / "progress.json").read_text())["samples_done"] == 2
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()) == 0
    assert not [thread for thread in threading.enumerate() if thread.name == "extraction-writer"]


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_extraction_on_cuda_stores_what_the_cpu_stores(tiny_models: Any, tmp_path: Path, dtype: str) -> None:
    from transformers import AutoModelForCausalLM

    sequences = _sequences((6, 2, 8, 8, 3, 5, 4, 7, 1), seed=5)
    arguments = {"hook_points": ["blocks.0.attn_out", "blocks.1.resid_post"], "batch_size": 4, "dtype": dtype}
    model = AutoModelForCausalLM.from_pretrained(tiny_models("llama")).eval()
    on_cpu = extract(model, sequences, tmp_path / "cpu", **arguments)
    on_gpu = extract(model.to("cuda"), sequences, tmp_path / "gpu", **arguments)
    cpu, gpu = open_activations(tmp_path / "cpu"), open_activations(tmp_path / "gpu")
    np.testing.assert_array_equal(np.asarray(cpu.attention_mask), np.asarray(gpu.attention_mask))
    for point in arguments["hook_points"]:
        np.testing.assert_allclose(np.asarray(gpu[point]), np.asarray(cpu[point]), rtol=2e-2, atol=2e-3)
        assert on_gpu.statistics[point]["tokens"] == on_cpu.statistics[point]["tokens"]
