"""Claim (issue 12): for standard ReLU/L1 SAEs, miStudio trains ≥ 2× SAELens' tokens/s at the same L0 and FVU.

A run from a random init stays dense for a long time (L0 in the thousands of 4608 latents), where both libraries do
the same dense work; a trained L1 SAE is sparse. So this benchmark times both *continuing* one sparse SAE:
1. Once (cached in .cache/bench/training-sparse/): ours trains a standard SAE (d_sae 4608 = 8 × 576,
   `decoder_norm="in_loss"`, SAELens' rule) from a random init for `--pretrain-steps` (200) steps at L1 `--l1` (10)
   and lr `--pretrain-lr` (1e-3: at 4e-4 the L0 falls several times slower) on the training tokens of
   `benchmarks/training.py`'s cached SmolLM2 `blocks.6.resid_post` activations (295k tokens, epoch after epoch), checks
   its last batch L0 is at most `--target-l0` (64), and saves it with `lens.sae.save_saelens` (the input scale folded
   into the weights, as SAELens saves), noting that scale.
2. ours-standard and saelens-standard (`training_cases.py`, each in a fresh process, alternating, the order reversed
   every round of `--repeat`, with its `matmul` case) continue training from that folder for `--steps` steps at the
   same L1 coefficient, lr 4e-4 constant, batch 4096,
   fp32, on the same batches in the same order (the first tokens of that data, `TensorSource` seed 0). Both start
   from the same function: each loads the folder (ours `lens.sae.load`, SAELens `TrainingSAE.load_from_disk`, its
   `from_pretrained_path` fine-tuning path), unfolds the noted scale (W_enc / s, W_dec · s, b_dec · s) and trains on
   inputs scaled by that same s (ours keeps it in the config; SAELens' activation scaler is given it, as when it
   resumes a checkpoint, instead of estimating it). Both start with a fresh Adam. Ours' `train` always sets b_dec and
   the input scale from a sample at step 0 (it has no "keep these weights" option), so for this case that init is
   switched off in the child process (training_cases.py `_ours_from`). SAELens clips the gradient norm at 1 (its
   trainer always does); ours does not. Ours switches to sparse kernels below 1/16 active (token, latent) entries
   (`lens.sae.losses.SPARSE_DENSITY`); SAELens computes densely.
Timing as in `benchmarks/training.py`: tokens/s of the steps after `--warmup`, wall and CPU time, from when each batch
is handed to the trainer; peak RSS (VmHWM); and its `matmul` case, the encoder product alone, as the physical floor.
Quality: FVU, L0 and dead fraction on the held-out tokens (never trained on, by either), by one function for both
(`training.evaluate`: each saved SAE opened with our loader, after its own reconstruction of 256 held-out tokens is
checked equal to the loader's), and of the starting SAE for reference. Each case also reports its loss (MSE + L1 term)
on those 256 tokens right after loading, before training: equal for both when they start from the same function.

    python benchmarks/training_sparse.py [--quick] [--steps 32] [--warmup 4] [--repeat 1] [--threads 2]
                                         [--l1 10] [--pretrain-lr 1e-3] [--pretrain-steps 200] [--target-l0 64]

Default: 32 steps (131k tokens), 16k held out; `--quick`: 12 steps, 8k held out. The first run also pre-trains
(5–10 minutes) and, without training.py's default cache, extracts its activations (~5 minutes). Last
line: `ratios: saelens N.NNx` (standard tokens/s, ours over SAELens', fastest round of each).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder heads sys.path, and benchmarks/tokenize.py would shadow the stdlib's `tokenize`.
sys.path[:] = [str(REPO_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")

from benchmarks.training import HOOK_POINT, SEQ_LEN, activations, evaluate, spawn  # noqa: E402

CASES = ("ours-standard", "saelens-standard", "matmul")
BATCH = 4096
D_SAE = 4608
LR = 4e-4
# The data of training.py's default run (72 steps): its cache serves this benchmark too.
PRETRAIN_SAMPLES = math.ceil(72 * BATCH / (SEQ_LEN - 1))
L1, PRETRAIN_LR, PRETRAIN_STEPS = 10.0, 1e-3, 200
CACHE = REPO_ROOT / ".cache" / "bench" / "training-sparse"


def pretrained(data: Path, l1: float, lr: float, steps: int, target_l0: float) -> tuple[Path, dict]:
    """The SAELens folder of a standard SAE ours trained for `steps` steps (checked sparse), and its notes."""
    folder = CACHE / f"{data.parent.name}-standard-l1_{l1:g}-lr_{lr:g}-steps_{steps}"
    notes_path = folder / "pretrained.json"
    if not notes_path.is_file():
        _pretrain(data, l1, lr, steps, folder)
    notes = json.loads(notes_path.read_text())
    if notes["batch_l0"] > target_l0:
        raise SystemExit(f"the pre-trained SAE in {folder} has batch L0 {notes['batch_l0']:.0f}, above {target_l0:g}: "
                         "raise --l1 or --pretrain-steps")
    return folder / "sae", notes


def _pretrain(data: Path, l1: float, lr: float, steps: int, folder: Path) -> None:
    import torch

    from benchmarks.training_cases import read_rows
    from mistudio.lens.sae import Hyperparameters, SAEConfig, SparseAutoencoder, TensorSource, TrainConfig
    from mistudio.lens.sae.formats import save_saelens
    from mistudio.lens.sae.trainer import train

    rows = read_rows(data, 0, PRETRAIN_SAMPLES * (SEQ_LEN - 1)).reshape(PRETRAIN_SAMPLES, SEQ_LEN - 1, -1)
    source = TensorSource(rows, holdout_fraction=0.0, seed=0)
    sae = SparseAutoencoder(SAEConfig("standard", d_in=source.d_in, d_sae=D_SAE, decoder_norm="in_loss",
                                      hook_point=HOOK_POINT), seed=0)
    started = time.perf_counter()

    def on_metrics(step: int, members: list[dict[str, float]]) -> None:
        print(f"  pre-training step {step}: batch L0 {members[0]['l0']:.1f}, FVU {members[0]['fvu']:.3f}, "
              f"{members[0]['tokens_per_second']:,.0f} tokens/s", flush=True)

    print(f"pre-training a standard SAE: L1 {l1:g}, lr {lr:g}, {steps} steps (once, cached in "
          f"{folder.relative_to(REPO_ROOT)})", flush=True)
    result = train([sae], source, TrainConfig(steps=steps, batch_tokens=BATCH, log_every=25),
                   hyperparameters=Hyperparameters(lr=lr, sparsity_coefficient=l1), on_metrics=on_metrics)
    last = result.final[0]
    shutil.rmtree(folder, ignore_errors=True)
    save_saelens(sae, folder / "sae")
    notes = {"input_scale": sae.config.input_scale, "steps": steps, "l1": l1, "lr": lr, "batch_l0": last["l0"],
             "batch_fvu": last["fvu"], "seconds": time.perf_counter() - started, "torch": torch.__version__}
    (folder / "pretrained.json").write_text(json.dumps(notes, indent=2))


def main() -> None:
    """Pre-train (once), continue with each library in its own process, evaluate both the same way, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="12 steps, 8k held-out tokens")
    parser.add_argument("--steps", type=int, help="continued training steps of 4096 tokens (default 32; --quick 12)")
    parser.add_argument("--warmup", type=int, help="untimed first steps (default 4; --quick 2)")
    parser.add_argument("--holdout", type=int, help="held-out tokens for FVU/L0/dead (default 16384; --quick 8192)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of every process (default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of both cases; the fastest counts")
    parser.add_argument("--l1", type=float, default=L1, help=f"L1 coefficient, pre-training and timed runs ({L1:g})")
    parser.add_argument("--pretrain-lr", type=float, default=PRETRAIN_LR, help=f"default {PRETRAIN_LR:g}")
    parser.add_argument("--pretrain-steps", type=int, default=PRETRAIN_STEPS, help=f"default {PRETRAIN_STEPS}")
    parser.add_argument("--target-l0", type=float, default=64.0, help="the pre-trained batch L0 must be at most this")
    args = parser.parse_args()
    steps = args.steps or (12 if args.quick else 32)
    warmup = args.warmup if args.warmup is not None else (2 if args.quick else 4)
    holdout_tokens = args.holdout or (8192 if args.quick else 16384)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # the children inherit them
        os.environ[name] = str(args.threads)
    import torch

    from benchmarks.training_cases import read_rows

    torch.set_num_threads(args.threads)
    pretrain_tokens = PRETRAIN_SAMPLES * (SEQ_LEN - 1)
    # at least training.py's default cache (16,384 held-out tokens), so --quick and the default share one extraction
    data = activations(PRETRAIN_SAMPLES + math.ceil(max(holdout_tokens, 16_384) / (SEQ_LEN - 1)))
    start, notes = pretrained(data, args.l1, args.pretrain_lr, args.pretrain_steps, args.target_l0)
    train_samples = math.ceil(steps * BATCH / (SEQ_LEN - 1))
    work = Path(tempfile.mkdtemp(prefix="mistudio-bench-training-sparse-"))
    common = ["--data", str(data), "--train-tokens", str(train_samples * (SEQ_LEN - 1)), "--seq-len",
              str(SEQ_LEN - 1), "--steps", str(steps), "--warmup", str(warmup), "--batch", str(BATCH), "--threads",
              str(args.threads), "--lr", str(LR), "--l1", str(args.l1), "--init", str(start), "--init-scale",
              repr(notes["input_scale"]), "--check-start", str(pretrain_tokens)]
    try:
        print(f"SmolLM2-135M {HOOK_POINT} (d=576), CPU, {os.cpu_count()} CPUs, torch threads {args.threads}; standard "
              f"SAE d_sae {D_SAE}, L1 {args.l1:g}, pre-trained by ours for {notes['steps']} steps to batch L0 "
              f"{notes['batch_l0']:.1f}; both continue for {steps} steps × {BATCH} tokens (timed: steps {warmup}–"
              f"{steps - 1}), lr {LR:g} constant, fp32; {holdout_tokens:,} held-out tokens", flush=True)
        runs: dict[str, list[dict]] = {}
        for round_index in range(args.repeat):
            for case in CASES if round_index % 2 == 0 else CASES[::-1]:
                result = spawn(case, [*common, "--out", str(work / case)], 120 + 30 * steps)
                runs.setdefault(case, []).append(result)
                print(f"  round {round_index + 1} {case}: {result['tokens_per_second']:,.0f} tokens/s "
                      f"({result['cpu_tokens_per_second']:,.0f} per CPU-second)", flush=True)
        holdout = torch.from_numpy(read_rows(data, pretrain_tokens, pretrain_tokens + holdout_tokens))
        quality = {case: evaluate(work / case, holdout, 256) for case in runs if case != "matmul"}
        quality["start"] = _evaluate_start(start, holdout)
        rate, cpu_rate = _table(runs, quality)
        starts = {case: runs[case][0]["start_loss"] for case in CASES if case != "matmul"}
        same = abs(starts["ours-standard"] - starts["saelens-standard"]) <= 1e-4 * abs(starts["saelens-standard"])
        print("start: " + ", ".join(f"{case} loss {loss:.4f}" for case, loss in starts.items()) + " on the check "
              f"rows before training: {'the same function and loss' if same else 'DIFFERENT starts'}")
        print(f"cpu ratios: saelens {cpu_rate['ours-standard'] / cpu_rate['saelens-standard']:.2f}x")
        print(f"ratios: saelens {rate['ours-standard'] / rate['saelens-standard']:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _table(runs: dict[str, list[dict]], quality: dict[str, dict]) -> tuple[dict[str, float], dict[str, float]]:
    """Print one row per case; return the best tokens/s per case, on wall and on CPU time."""
    rate = {case: max(r["tokens_per_second"] for r in results) for case, results in runs.items()}
    cpu_rate = {case: max(r["cpu_tokens_per_second"] for r in results) for case, results in runs.items()}
    matmul_ms = min(r["step_ms_median"] for r in runs["matmul"])
    print(f"\n{'case':<18}{'tokens/s':>9}{'ours/this':>10}{'cpu o/t':>8}{'step ms':>9}{'× matmul':>9}{'peak MB':>9}"
          f"{'FVU':>8}{'L0':>7}{'dead %':>8}  rounds (tokens/s)")
    for case in ("start", *CASES):
        q = quality.get(case)
        scores = (f"{q['fvu']:>8.3f}{q['l0']:>7.1f}{100 * q['dead_fraction']:>8.1f}" if q
                  else f"{'-':>8}{'-':>7}{'-':>8}")
        if case == "start":
            print(f"{'(start, saved)':<18}{'-':>9}{'-':>10}{'-':>8}{'-':>9}{'-':>9}{'-':>9}{scores}")
            continue
        results = runs[case]
        step_ms = min(r["step_ms_median"] for r in results)
        peak = min(r["peak_rss_bytes"] for r in results) / 2**20
        ratio, cpu_ratio = "-", "-"
        if case != "matmul":
            ratio = f"{rate['ours-standard'] / rate[case]:.2f}x"
            cpu_ratio = f"{cpu_rate['ours-standard'] / cpu_rate[case]:.2f}x"
        rounds = " ".join(f"{r['tokens_per_second']:,.0f}" for r in results)
        print(f"{case:<18}{rate[case]:>9,.0f}{ratio:>10}{cpu_ratio:>8}{step_ms:>9.0f}{step_ms / matmul_ms:>9.1f}"
              f"{peak:>9.0f}{scores}  {rounds}")
    print("tokens/s: timed steps' tokens / their wall time (fastest of --repeat); cpu o/t: the same ratio on CPU time; "
          "step ms: median step; × matmul: over the encoder product alone [4096 × 576] × [576 × 4608];\nFVU, L0, "
          "dead % (latents never active): held-out tokens, one evaluation for all; start: the saved SAE both "
          "continued from")
    return rate, cpu_rate


def _evaluate_start(folder: Path, holdout) -> dict[str, float]:  # noqa: ANN001
    """FVU, L0 and dead fraction of the saved starting SAE (evaluate() wants a library's own reconstruction file)."""
    import numpy as np
    import torch

    from mistudio.lens.sae import load

    copy = Path(tempfile.mkdtemp(prefix="mistudio-bench-start-"))
    try:
        shutil.copytree(folder, copy, dirs_exist_ok=True)
        with torch.no_grad():
            np.save(copy / "check_reconstruction.npy", load(folder)(holdout[:256]).numpy())
        return evaluate(copy, holdout, 256)
    finally:
        shutil.rmtree(copy, ignore_errors=True)


if __name__ == "__main__":
    main()
