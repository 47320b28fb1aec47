"""Claim: loading SmolLM2-135M through `mistudio.lens.quantize.load_model` costs no more time or resident memory
than plain `transformers.AutoModelForCausalLM.from_pretrained` of the same files with the same dtype / quantization
config (ratio ours/plain ≤ 1.1×), in every format.

The q2 peer is plain from_pretrained in fp32 followed by HQQ's own whole-model API (`AutoHQQHFModel.quantize_model`
on the decoder blocks' Linear layers), since transformers' HqqConfig path does not quantize on load.
Each case runs in a fresh subprocess (so RSS is honest); libraries are imported before the clock and the RSS baseline
start. Cases alternate ours/plain so background load hits both alike. The table shows, per case, the fastest time
and the smallest RSS growth of --repeat runs: both are disturbed upward only (by other processes, and by heap
fragmentation that malloc_trim cannot return).

    python benchmarks/model_load.py [--formats fp32,q4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

FORMATS = ("fp32", "fp16", "bf16", "q8", "q4", "q2")
BLOCK_LINEARS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                 "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")


def _load_plain(folder: Path, fmt: str) -> object:
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    kwargs: dict[str, object] = {"dtype": dtypes.get(fmt, torch.float32), "use_safetensors": True}
    if fmt == "q8":
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=6.0)
    elif fmt == "q4":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    if fmt == "q2":
        from hqq.core.quantize import BaseQuantizeConfig
        from hqq.models.hf.base import AutoHQQHFModel

        config = BaseQuantizeConfig(nbits=2, group_size=64)
        AutoHQQHFModel.quantize_model(model, quant_config={tag: config for tag in BLOCK_LINEARS},
                                      compute_dtype=torch.float32, device="cpu")
    return model


def _release_free_heap() -> None:
    # glibc keeps freed blocks (the transient fp32 copies of quantized layers) in its arenas, which swings RSS by
    # ~150 MB from run to run; trimming them makes RSS count what the model holds.
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def run_case(case: str, folder: Path, fmt: str) -> dict[str, float]:
    """Load once in this process; returns seconds and the RSS growth in bytes once a forward pass ran.

    The forward pass matters: fp32 weights stay memory-mapped from the safetensors file, and only pages a
    forward touches count in RSS, so RSS right after loading would show a fraction of the model.
    """
    import gc

    import bitsandbytes  # noqa: F401  (imported before the clock, like transformers)
    import hqq.core.quantize  # noqa: F401
    import hqq.models.hf.base  # noqa: F401
    import psutil
    import torch
    import transformers  # noqa: F401

    from mistudio.lens.quantize import load_model

    process = psutil.Process()
    gc.collect()
    baseline = process.memory_info().rss
    started = time.perf_counter()
    model = load_model(folder, fmt).model if case == "ours" else _load_plain(folder, fmt)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        model(torch.tensor([[1, 2, 3]]))
    gc.collect()
    _release_free_heap()
    return {"seconds": seconds, "rss_bytes": process.memory_info().rss - baseline}


def _spawn(case: str, folder: Path, fmt: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--case", case, "--format", fmt, "--folder", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{case} {fmt} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run every format through ours and plain, each in its own process, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", choices=("ours", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.folder, args.format)))
        return

    from tests.support.assets import smollm2_hf_dir

    folder = smollm2_hf_dir()
    print(f"SmolLM2-135M-Instruct ({folder.name}), CPU, {args.repeat} fresh processes per case")
    print(f"{'format':<7}{'ours s':>9}{'plain s':>9}{'ratio':>8}{'ours RSS MB':>13}{'plain RSS MB':>14}{'ratio':>8}")
    for fmt in args.formats.split(","):
        runs: dict[str, list[dict[str, float]]] = {"ours": [], "plain": []}
        for _ in range(args.repeat):
            for case in ("ours", "plain"):
                runs[case].append(_spawn(case, folder, fmt))
        seconds = {case: min(r["seconds"] for r in results) for case, results in runs.items()}
        rss = {case: min(r["rss_bytes"] for r in results) / 2**20 for case, results in runs.items()}
        print(f"{fmt:<7}{seconds['ours']:>9.2f}{seconds['plain']:>9.2f}{seconds['ours'] / seconds['plain']:>7.2f}x"
              f"{rss['ours']:>13.0f}{rss['plain']:>14.0f}{rss['ours'] / rss['plain']:>7.2f}x", flush=True)


if __name__ == "__main__":
    main()
