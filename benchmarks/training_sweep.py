"""Claim (issue 12): a sweep of 4 SAEs trained in one `lens.sae.train` call is ≥ 2× faster than the same 4 SAEs
trained in 4 separate calls, because the sweep reads its activations once for all four.

Four TopK SAEs on SmolLM2-135M's `blocks.6.resid_post` (d 576, d_sae 4608 = 8×, k 16 / 32 / 64 / 128, seeds 0–3),
batch 4096 tokens, fp32, Adam lr 4e-4 constant, the same `TrainConfig` (steps, init sample, seed 0, no hold-out) for
every call. Two modes, on two sources of the same tokens (Shakespeare in windows of 128, `benchmarks/training.py`'s
helpers, each window's first position dropped):
- sweep: `train([sae_k16, sae_k32, sae_k64, sae_k128], source, config)`, one call;
- separate: `train([sae_k], source, config)` four times in a row, each SAE built the same way as in the sweep.
Sources:
- stream: `ModelStreamSource` over the tokenized windows: every read runs the real model (loaded once, before any
  timing) through the read hooks up to block 6. A separate run pays the model forward for its own init sample and
  batches; the sweep pays it once.
- cached: `ExtractionSource` over the activations `benchmarks/training.py` extracted into .cache/bench/training/ (the
  same windows, memory-mapped, extracted once): only the (cheap) read and shuffle is shared.
Also timed, per source: "read alone", the source producing the init sample and the batches of one run with no SAE:
what a sweep can share. If it is a fraction r of one separate run, sharing the read and nothing else gives
4 / (r + 4 (1 − r)) (r 0.9: 3.1x); more needs fused SAE work. One short measurement per round: noisy when shared.
Timing: wall clock (perf_counter) and this process's CPU time (process_time) around the whole `train` call(s), init
sample and model forwards included; the model load and the SAEs' construction are outside. Everything runs in this
one process, after an untimed warm-up (a 2-step run and a model read); the cases alternate within each round and the
order reverses every round, so background load falls on both modes alike. The ratio is separate over sweep,
fastest round of each; CPU-time ratios (fastest CPU time of each) are printed too (steadier on a shared machine).
Equality: every tensor of each SAE's state dict (and its input scale) after the first round's sweep is compared with
the same SAE's separate run (same seed, same batches): `identical` or the largest absolute difference.

    python benchmarks/training_sweep.py [--quick] [--steps 16] [--repeat 1] [--threads 2] [--sources stream,cached]

Default: 16 steps (65,536 tokens per SAE, 16,384-token init sample). `--quick`: 4 steps, 2,048-token init sample.
Last line: `ratios: stream N.NNx, cached N.NNx`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder heads sys.path, and benchmarks/tokenize.py would shadow the stdlib's `tokenize`.
sys.path[:] = [str(REPO_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from benchmarks.training import HOOK_POINT, SEQ_LEN, _token_windows, activations  # noqa: E402

KS = (16, 32, 64, 128)
D_SAE = 4608
BATCH = 4096
MODES = ("sweep", "separate", "read")


def build_saes(d_in: int) -> list:
    """The four SAEs of the sweep, built identically for both modes."""
    from mistudio.lens.sae import SAEConfig, SparseAutoencoder

    return [SparseAutoencoder(SAEConfig("topk", d_in=d_in, d_sae=D_SAE, k=k, hook_point=HOOK_POINT), seed=index)
            for index, k in enumerate(KS)]


def timed(work: Callable[[], object]) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def run_mode(mode: str, source, config) -> tuple[float, float, list]:  # noqa: ANN001
    """(wall s, CPU s, trained SAEs) of one mode on one source."""
    from mistudio.lens.sae.trainer import train

    if mode == "read":
        def read() -> None:
            source.sample(config.init_tokens)
            batches = source.batches(config.batch_tokens)
            for _ in range(config.total_steps):
                next(batches)
        wall, cpu, _ = timed(read)
        return wall, cpu, []
    saes = build_saes(source.d_in)
    if mode == "sweep":
        wall, cpu, _ = timed(lambda: train(saes, source, config))
    else:
        wall = cpu = 0.0
        for sae in saes:
            one_wall, one_cpu, _ = timed(lambda sae=sae: train([sae], source, config))
            wall, cpu = wall + one_wall, cpu + one_cpu
    return wall, cpu, saes


def weight_difference(sweep: list, separate: list) -> str:
    """`identical`, or the largest |difference| of any weight between a sweep SAE and its separate twin."""
    import torch

    largest = 0.0
    for a, b in zip(sweep, separate, strict=True):
        for name, tensor in a.state_dict().items():
            other = b.state_dict()[name]
            if not torch.equal(tensor, other):
                largest = max(largest, float((tensor - other).abs().max()))
        if a.config.input_scale != b.config.input_scale:
            largest = max(largest, abs(a.config.input_scale - b.config.input_scale))
    return "identical" if largest == 0.0 else f"differ: max |Δ| {largest:.3g}"


def sources(names: list[str], steps: int, init_tokens: int) -> dict[str, object]:
    """The stream and cached sources over the same windows (the model is loaded here, outside any timing)."""
    from mistudio.lens import open_model
    from mistudio.lens.sae import ExtractionSource, ModelStreamSource
    from tests.support.assets import smollm2_hf_dir

    windows = math.ceil(max(steps * BATCH, init_tokens) / (SEQ_LEN - 1))
    made: dict[str, object] = {}
    for name in names:
        if name == "stream":
            handle = open_model(smollm2_hf_dir())
            made[name] = ModelStreamSource(handle.model, _token_windows(handle.tokenizer, windows), HOOK_POINT,
                                           holdout_fraction=0.0)
        elif name == "cached":
            extraction = activations(windows).parent / "extraction"
            made[name] = ExtractionSource(extraction, HOOK_POINT, max_samples=windows, holdout_fraction=0.0)
        else:
            raise SystemExit(f"unknown source {name!r}: stream or cached")
    return made


def report(results: dict[tuple[str, str], list[tuple[float, float]]], checks: dict[str, str],
           names: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Print the table; return the wall-clock and CPU-time ratios (separate over sweep, fastest rounds) per source."""
    ratios, cpu_ratios = {}, {}
    print(f"\n{'source':<8}{'mode':<10}{'wall s':>8}{'cpu s':>8}{'sep/this':>10}{'cpu s/t':>9}  rounds (wall s)")
    for name in names:
        # the fastest round of each mode, on wall and on CPU time separately
        best = {mode: tuple(min(column) for column in zip(*results[name, mode], strict=True)) for mode in MODES}
        for mode in MODES:
            wall, cpu = best[mode]
            ratio = "-" if mode == "read" else f"{best['separate'][0] / wall:.2f}x"
            cpu_ratio = "-" if mode == "read" else f"{best['separate'][1] / cpu:.2f}x"
            rounds = " ".join(f"{w:.1f}" for w, _ in results[name, mode])
            print(f"{name:<8}{mode:<10}{wall:>8.1f}{cpu:>8.1f}{ratio:>10}{cpu_ratio:>9}  {rounds}")
        per_round = [s[0] / w[0] for s, w in zip(results[name, "separate"], results[name, "sweep"], strict=True)]
        ratios[name] = best["separate"][0] / best["sweep"][0]
        cpu_ratios[name] = best["separate"][1] / best["sweep"][1]
        share = [4 * r[1] / s[1] for r, s in zip(results[name, "read"], results[name, "separate"], strict=True)]
        print(f"{name:<8}per round: separate/sweep {', '.join(f'{r:.2f}x' for r in per_round)} (wall), read alone "
              f"{', '.join(f'{100 * r:.0f}%' for r in share)} of one separate run (CPU); sweep vs separate weights: "
              f"{checks[name]}")
    return ratios, cpu_ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 steps, 2,048-token init sample (under 5 minutes)")
    parser.add_argument("--steps", type=int, help="steps of 4096 tokens per SAE (default 16; --quick 4)")
    parser.add_argument("--init-tokens", type=int, help="the init sample (default 16384; --quick 2048)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the fastest of each case counts")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--sources", default="stream,cached")
    args = parser.parse_args()
    steps = args.steps or (4 if args.quick else 16)
    init_tokens = args.init_tokens or (2048 if args.quick else 16_384)
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    import torch

    from mistudio.lens.sae import TensorSource, TrainConfig
    from mistudio.lens.sae.trainer import train

    torch.set_num_threads(args.threads)
    names = [name for name in args.sources.split(",") if name]
    made = sources(names, steps, init_tokens)
    config = TrainConfig(steps=steps, batch_tokens=BATCH, init_tokens=init_tokens)
    print(f"SmolLM2-135M blocks.6.resid_post (d 576), CPU, {os.cpu_count()} CPUs, torch threads {args.threads}; "
          f"4 TopK SAEs d_sae {D_SAE} k {'/'.join(map(str, KS))}, {steps} steps × {BATCH} tokens each, init sample "
          f"{init_tokens:,} tokens, lr 4e-4, fp32; sweep = one train() of 4, separate = 4 train() of 1", flush=True)
    for name in names:  # untimed: the model's first forward, the first calls of the kernels
        warm_tokens = TensorSource(made[name].read(0, 16).x, holdout_fraction=0.0)
        train(build_saes(made[name].d_in)[:1], warm_tokens, TrainConfig(steps=2, batch_tokens=1024, init_tokens=1024))
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    first_round: dict[tuple[str, str], list] = {}
    for round_index in range(args.repeat):
        order = [(name, mode) for name in names for mode in MODES]
        for name, mode in order if round_index % 2 == 0 else order[::-1]:
            wall, cpu, saes = run_mode(mode, made[name], config)
            results.setdefault((name, mode), []).append((wall, cpu))
            if round_index == 0:
                first_round[name, mode] = saes
            print(f"  round {round_index + 1} {name} {mode}: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    checks = {name: weight_difference(first_round[name, "sweep"], first_round[name, "separate"]) for name in names}
    ratios, cpu_ratios = report(results, checks, names)
    print("wall s / cpu s: the whole train() call(s), fastest round of each (CPU: this process's); sep/this, cpu s/t: "
          "separate over this mode; read: the source alone producing one run's init sample and batches")
    print("cpu ratios: " + ", ".join(f"{name} {cpu_ratios[name]:.2f}x" for name in names))
    print("ratios: " + ", ".join(f"{name} {ratios[name]:.2f}x" for name in names))


if __name__ == "__main__":
    main()
