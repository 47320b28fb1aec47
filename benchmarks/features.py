"""Claim (issue 13): our streaming feature analysis finds each latent's max-activating examples at least as fast as
the in-memory top-k of SAEDashboard and sae_vis, in memory that does not grow with the number of tokens, while the
peer's does. Targets: tokens/s ours ≥ the peer's; our peak RSS at 4N tokens ≤ 1.1× at N. Plus the features browser's
latency at 100k latents (`features_browser.py`, run as it is).

Model and data: SmolLM2-135M (fp32) over Shakespeare's plays in windows of 128 tokens (`training._token_windows`).
SAE: a TopK SAE (d_sae 4608 = 8 × 576, k 32) on `blocks.6.resid_post`, trained once with `lens.sae.train` on the
model's streamed activations of the first windows (`ModelStreamSource`, 8 steps of 4096 tokens: short, but its
latents are a trained SAE's, not a random init's), saved in .cache/bench/features/ and reused. Both methods analyse
the same first N windows with that SAE (the training windows among them: it does not matter for speed or memory).

Cases (`features_cases.py`, each in a fresh process at N and at 4N windows, the same torch threads): ours
(`lens.features.FeatureAnalysis`, first pass) and in-memory-topk (SAEDashboard's method written plainly; see that
file for why not SAEDashboard itself). Per case: tokens/s over the passes and the building of the examples, peak RSS
of the process (VmHWM) and its RSS once the model and SAE were loaded. Check: for every latent, the top-k peak
activation per sequence found by ours equals the one computed from the peer's stored tensor (and both maxima equal
the peer's token-level maximum); a few latents are printed.

    python benchmarks/features.py [--quick] [--windows N] [--threads 2] [--repeat 1] [--browser-latents 100000]

Default: N = 128 windows (16k tokens) and 4N; `--quick`: 32 windows (4k tokens) and 4N, the browser at 10k latents.
Last line: `ratios: tokens/s N.NNx, ours peak 4N/N N.NNx, peer peak 4N/N N.NNx` (tokens/s: ours over the peer's,
the lower of the two sizes; the line before it is the same on CPU time, steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder heads sys.path, and benchmarks/tokenize.py would shadow the stdlib's `tokenize`.
sys.path[:] = [str(REPO_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from benchmarks.training import HOOK_POINT, SEQ_LEN, _token_windows  # noqa: E402

CASES_SCRIPT = Path(__file__).resolve().parent / "features_cases.py"
BROWSER_SCRIPT = Path(__file__).resolve().parent / "features_browser.py"
CACHE = REPO_ROOT / ".cache" / "bench" / "features"
D_SAE, K, TRAIN_STEPS, TRAIN_BATCH = 4608, 32, 8, 4096
TOLERANCE = 1e-4  # relative, on activations: the two methods encode the same batches with the same code


def trained_sae() -> Path:
    """The benchmark's SAE folder (SAELens layout), trained once (see the module docstring)."""
    folder = CACHE / f"smollm2-{HOOK_POINT}-topk{D_SAE}-k{K}-steps{TRAIN_STEPS}"
    if (folder / "cfg.json").is_file():
        return folder
    import math

    from mistudio.lens import open_model
    from mistudio.lens.sae import ModelStreamSource, SAEConfig, SparseAutoencoder, TrainConfig, save_saelens
    from mistudio.lens.sae.trainer import train  # the function, not the submodule of the same name
    from tests.support.assets import smollm2_hf_dir

    print(f"training the benchmark's TopK SAE once into {folder.relative_to(REPO_ROOT)}", flush=True)
    handle = open_model(smollm2_hf_dir())
    windows = math.ceil(TRAIN_STEPS * TRAIN_BATCH / (SEQ_LEN - 1))
    source = ModelStreamSource(handle.model, _token_windows(handle.tokenizer, windows), HOOK_POINT,
                               holdout_fraction=0.0)
    sae = SparseAutoencoder(SAEConfig("topk", d_in=source.d_in, d_sae=D_SAE, k=K, hook_point=HOOK_POINT), seed=0)
    train([sae], source, TrainConfig(steps=TRAIN_STEPS, batch_tokens=TRAIN_BATCH, init_tokens=TRAIN_BATCH))
    partial = folder.with_name(folder.name + ".partial")
    save_saelens(sae, partial)
    partial.rename(folder)
    return folder


def spawn(case: str, sae: Path, windows: int, out: Path, threads: int) -> dict:
    completed = subprocess.run([sys.executable, str(CASES_SCRIPT), case, "--sae", str(sae), "--windows", str(windows),
                                "--out", str(out), "--threads", str(threads)], capture_output=True, text=True,
                               cwd=REPO_ROOT, timeout=1800)
    if completed.returncode != 0:
        raise SystemExit(f"{case} at {windows} windows failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def agreement(ours: Path, peer: Path) -> tuple[str, bool]:
    """Compare the top-k values of every latent; print a few latents."""
    import numpy as np

    mine, theirs = np.load(ours), np.load(peer)
    top, sequence_top, token_top = mine["top"], theirs["sequence_top"], theirs["top"]
    scale = max(float(np.abs(sequence_top).max()), 1e-12)
    difference = float(np.abs(top - sequence_top).max()) / scale
    maximum = float(np.abs(top[:, 0] - token_top[:, 0]).max()) / scale
    live = np.flatnonzero(top[:, 0] > 0)
    for latent in live[np.linspace(0, len(live) - 1, min(4, len(live))).astype(int)]:
        five = ["[" + ", ".join(f"{v:.4f}" for v in values[latent, :5]) + "]"
                for values in (top, sequence_top, token_top)]
        print(f"  latent {latent:>5}: ours top-5 {five[0]}  peer per-sequence peaks {five[1]}  "
              f"peer token-level {five[2]}")
    ok = difference <= TOLERANCE and maximum <= TOLERANCE
    return (f"{len(live):,} of {len(top):,} latents fired; max |ours − peer| over all latents' top-{top.shape[1]}: "
            f"{difference:.2g} of the largest activation; maxima: {maximum:.2g} — "
            f"{'agree' if ok else 'DISAGREE'}"), ok


def browser(latents: int, repeat: int) -> list[str]:
    """features_browser.py run as it is (its own process: its SQLite build does not count in our cases)."""
    args = [sys.executable, str(BROWSER_SCRIPT), "--repeat", str(repeat)] + (["--quick"] if latents < 100_000 else [])
    completed = subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT, timeout=1800)
    if completed.returncode != 0:
        raise SystemExit(f"features_browser.py failed:\n{completed.stderr[-4000:]}")
    return completed.stdout.strip().splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--windows", type=int, help="N, in windows of 128 tokens (default 128; --quick 32)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the four cases (best of them is reported)")
    parser.add_argument("--browser-latents", type=int, help="100000 (default) or 10000 (--quick default)")
    args = parser.parse_args()
    windows = args.windows or (32 if args.quick else 128)
    latents = args.browser_latents or (10_000 if args.quick else 100_000)
    sae = trained_sae()
    runs: dict[tuple[str, int], list[dict]] = {}
    checks = []
    with tempfile.TemporaryDirectory(prefix="bench-features-") as scratch:
        for round_ in range(args.repeat):
            for count in (windows, 4 * windows):
                files = {case: Path(scratch) / f"{case}-{count}-{round_}.npz" for case in ("ours", "in-memory-topk")}
                order = list(files) if round_ % 2 == 0 else list(reversed(files))
                for case in order:
                    result = spawn(case, sae, count, files[case], args.threads)
                    runs.setdefault((case, count), []).append(result)
                    print(f"  {case:<15} {count * SEQ_LEN:>7,} tokens  {result['tokens_per_second']:>7,.0f} tokens/s  "
                          f"peak {result['peak_rss_bytes'] / 2**20:,.0f} MB", flush=True)
                if round_ == 0:
                    print(f"check at {count * SEQ_LEN:,} tokens:")
                    line, ok = agreement(files["ours"], files["in-memory-topk"])
                    print(f"  {line}")
                    checks.append(ok)
    print(f"\nSmolLM2-135M fp32, {HOOK_POINT}, TopK SAE {D_SAE} k {K}, top-20 examples of 33 tokens, batch 8 × "
          f"{SEQ_LEN}, {args.threads} threads; best of {args.repeat} round(s)")
    print(f"{'case':<16}{'tokens':>9}{'tokens/s':>10}{'ours/this':>10}{'cpu o/t':>8}{'RSS loaded MB':>15}"
          f"{'peak MB':>9}{'peak − loaded MB':>18}")
    best = {key: max(results, key=lambda r: r["tokens_per_second"]) for key, results in runs.items()}
    cpu = {key: max(r["cpu_tokens_per_second"] for r in results) for key, results in runs.items()}
    peak = {key: min(r["peak_rss_bytes"] for r in results) for key, results in runs.items()}
    for (case, count), result in sorted(best.items(), key=lambda item: (item[0][1], item[0][0] != "ours")):
        ratio = best[("ours", count)]["tokens_per_second"] / result["tokens_per_second"]
        cpu_ratio = cpu[("ours", count)] / cpu[(case, count)]
        loaded, top = min(r["rss_start_bytes"] for r in runs[(case, count)]) / 2**20, peak[(case, count)] / 2**20
        print(f"{case:<16}{result['tokens']:>9,}{result['tokens_per_second']:>10,.0f}{ratio:>9.2f}x{cpu_ratio:>7.2f}x"
              f"{loaded:>15,.0f}{top:>9,.0f}{top - loaded:>18,.0f}")
    speed = min(best[("ours", c)]["tokens_per_second"] / best[("in-memory-topk", c)]["tokens_per_second"]
                for c in (windows, 4 * windows))
    cpu_speed = min(cpu[("ours", c)] / cpu[("in-memory-topk", c)] for c in (windows, 4 * windows))
    ours_growth = peak[("ours", 4 * windows)] / peak[("ours", windows)]
    peer_growth = peak[("in-memory-topk", 4 * windows)] / peak[("in-memory-topk", windows)]
    print(f"targets: tokens/s ours ≥ peer at both sizes: {'met' if speed >= 1 else 'NOT met'} ({speed:.2f}x); ours "
          f"peak 4N/N ≤ 1.10: {'met' if ours_growth <= 1.1 else 'NOT met'} ({ours_growth:.2f}x); peer's grows "
          f"({peer_growth:.2f}x); top-k agreement: {'yes' if all(checks) else 'NO'}")
    print(f"\nbrowser (features_browser.py, {latents:,} latents):")
    for line in browser(latents, 30):
        print(f"  {line}")
    print(f"cpu ratios: tokens/s {cpu_speed:.2f}x")
    print(f"ratios: tokens/s {speed:.2f}x, ours peak 4N/N {ours_growth:.2f}x, peer peak 4N/N {peer_growth:.2f}x")


if __name__ == "__main__":
    main()
