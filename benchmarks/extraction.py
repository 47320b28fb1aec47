"""Claim: miStudio's activation extraction (`mistudio.lens.extraction.extract`, writing fp32 memory maps, the
attention mask and streaming statistics to disk) is faster than the ways people get the same activations today,
on the same model, the same tokens and the same machine. Targets (issue 6), resid_post of layers {3, 15, 29}:
(b) ours ≥ 1.15× (a) a bare HF forward pass, ≥ 1.2× (c) TransformerLens 4.x `TransformerBridge.run_with_cache`
with `names_filter`, ≥ 1.2× (d) nnsight `LanguageModel.trace` saving the layers' outputs, all in their default
modes, and ≥ 1.0× (c) and (d) in their early-stop modes (`stop_at_layer`, `tracer.stop()`); layers {3, 6}:
(b) ≥ 4× (a).

Cases, each batch the same [batch, seq_len] block of token ids (fixed-length windows of Shakespeare's text,
SmolLM2's tokenizer, so there is no padding):
- bare: `model(input_ids)` under `torch.inference_mode()`, no hooks (the lm_head included, as any forward);
- ours: one `extract(model, sequences, dest, hook_points=..., batch_size=..., dtype="fp32")` call over all the
  sequences into a fresh folder (its default: the forward stops after the deepest requested hook point);
- transformerlens / transformerlens-stop: `bridge.run_with_cache(ids, names_filter=[...])` per batch, the second
  with `stop_at_layer=deepest + 1`;
- nnsight / nnsight-stop: `with model.trace(ids): [layer.output.save() ...]`, the second ending with `tracer.stop()`.
Peers keep each batch's activations in memory (their cache / saved proxies) and drop them before the next batch;
ours writes them to disk. The peers load the model their own way (TransformerLens forces eager attention).

Before timing, one batch goes through ours, TransformerLens and nnsight (default and early-stop modes) in one
process and their activations are checked equal (allclose, rtol 1e-4, atol 1e-4 × max |x|; sdpa vs eager attention
differ by kernel rounding only). Each timed case runs in a fresh subprocess, so peak RSS is honest; libraries and the
model are loaded and one small warm-up batch is run through the case's own path before the clock. Cases alternate
within each of --repeat rounds so background load hits all alike; the table shows the fastest run of each (tokens/s)
and the smallest peak RSS growth (Linux VmHWM reset at the clock's start, minus the RSS then). The last line is
`ratios: bare 1.20x, transformerlens 1.25x, nnsight 1.24x`: layers {3, 15, 29}, our tokens/s over theirs, default
modes.

    python benchmarks/extraction.py [--quick] [--samples 64] [--seq-len 128] [--batch-size 32] [--repeat 3]
                                    [--layer-sets 3,15,29:3,6] [--cases ...] [--profile]

`--quick`: a tiny random llama (30 layers so the same hook points exist, d=64) instead of SmolLM2-135M, 2 rounds;
under 5 minutes on 2 CPU cores. `--profile`: also run ours once under cProfile per layer set and print it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder heads sys.path, and benchmarks/tokenize.py would shadow the stdlib's `tokenize`.
sys.path[:] = [str(REPO_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local files
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")

CASES = ("bare", "ours", "transformerlens", "transformerlens-stop", "nnsight", "nnsight-stop")
PEERS = ("transformerlens", "nnsight")
DEFAULT_LAYER_SETS = "3,15,29:3,6"
WARMUP_SAMPLES = 2
TINY_LAYERS = 30


# --- data and models ------------------------------------------------------------------------------------------------

def _tokens(folder: Path, samples: int, seq_len: int) -> Path:
    """Shakespeare tokenized with the model's tokenizer into `samples` windows of seq_len tokens (.npy)."""
    import numpy as np
    from transformers import AutoTokenizer

    from mistudio.datasets.examples import example_texts

    texts = example_texts(REPO_ROOT / ".cache" / "assets", "shakespeare")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    needed = samples * seq_len
    ids: list[int] = []
    for path in sorted(texts.glob("*.txt")):
        with path.open(encoding="utf-8") as handle:
            while len(ids) < needed:
                chunk = handle.read(200_000)
                if not chunk:
                    break
                ids += tokenizer(chunk, add_special_tokens=False)["input_ids"]
        if len(ids) >= needed:
            break
    if len(ids) < needed:
        raise SystemExit(f"the Shakespeare text gives {len(ids)} tokens, fewer than {needed}")
    tokens = np.asarray(ids[:needed], dtype=np.int64).reshape(samples, seq_len)
    out = Path(tempfile.mkdtemp(prefix="mistudio-bench-extraction-")) / "tokens.npy"
    np.save(out, tokens)
    return out


def _tiny_llama(out_dir: Path) -> Path:
    """tests' tiny llama (its tokenizer, d=64) rebuilt with 30 layers so layers 3, 15 and 29 exist."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from tests.support.tiny_models import build_tiny_model

    if (out_dir / "config.json").is_file():
        return out_dir
    build_tiny_model("llama", out_dir)
    config = AutoConfig.from_pretrained(out_dir)
    config.num_hidden_layers = TINY_LAYERS
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(out_dir)
    return out_dir


def _load_hf(folder: Path):  # noqa: ANN202
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()


def _load_bridge(folder: Path):  # noqa: ANN202
    import torch
    from transformer_lens.model_bridge import TransformerBridge

    bridge = TransformerBridge.boot_transformers(str(folder), device="cpu", dtype=torch.float32)
    bridge.eval()
    return bridge


def _load_nnsight(folder: Path):  # noqa: ANN202
    import torch
    from nnsight import LanguageModel

    return LanguageModel(str(folder), dispatch=True, device_map="cpu", dtype=torch.float32)


# --- one batch through each path --------------------------------------------------------------------------------------

def _tl_names(layers: list[int]) -> list[str]:
    return [f"blocks.{layer}.hook_resid_post" for layer in layers]


def _tl_batch(bridge, ids, layers: list[int], stop: bool) -> dict[int, object]:  # noqa: ANN001
    import torch

    kwargs = {"stop_at_layer": max(layers) + 1} if stop else {}
    with torch.inference_mode():
        _, cache = bridge.run_with_cache(ids, names_filter=_tl_names(layers), **kwargs)
    out = {}
    for layer, name in zip(layers, _tl_names(layers), strict=True):
        out[layer] = cache[name]
    return out


def _nnsight_batch(model, ids, layers: list[int], stop: bool) -> dict[int, object]:  # noqa: ANN001
    import torch

    saved = {}
    with torch.inference_mode(), model.trace(ids) as tracer:
        for layer in sorted(layers):
            saved[layer] = model.model.layers[layer].output.save()
        if stop:
            tracer.stop()
    return {layer: (value[0] if isinstance(value, tuple) else value) for layer, value in saved.items()}


def _ours(model, tokens, dest: Path, layers: list[int], batch_size: int, early_stop: bool = True):  # noqa: ANN001,ANN202
    from mistudio.lens.extraction import extract

    return extract(model, list(tokens), dest, hook_points=[f"blocks.{layer}.resid_post" for layer in layers],
                   batch_size=batch_size, dtype="fp32", early_stop=early_stop)


# --- the equality check -----------------------------------------------------------------------------------------------

def check(folder: Path, tokens_path: Path, layers: list[int], batch_size: int) -> dict[str, float]:
    """One batch through ours, TransformerLens and nnsight (both modes each); max |difference| per pair."""
    import numpy as np
    import torch

    from mistudio.lens.extraction import open_activations

    tokens = np.load(tokens_path)[:batch_size]
    ids = torch.from_numpy(tokens)
    results: dict[str, dict[int, np.ndarray]] = {}
    work = Path(tempfile.mkdtemp(prefix="mistudio-bench-check-"))
    try:
        model = _load_hf(folder)
        for early_stop in (True, False):
            dest = work / f"ours-{early_stop}"
            _ours(model, tokens, dest, layers, batch_size, early_stop)
            acts = open_activations(dest)
            results[f"ours{'' if early_stop else '-full'}"] = {
                layer: np.array(acts[f"blocks.{layer}.resid_post"]) for layer in layers}
        del model
        bridge = _load_bridge(folder)
        for stop in (False, True):
            got = _tl_batch(bridge, ids, layers, stop)
            results["transformerlens" + ("-stop" if stop else "")] = {k: v.float().numpy() for k, v in got.items()}
        del bridge
        nn_model = _load_nnsight(folder)
        for stop in (False, True):
            got = _nnsight_batch(nn_model, ids, layers, stop)
            results["nnsight" + ("-stop" if stop else "")] = {k: v.float().numpy() for k, v in got.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    reference = results["ours"]
    scale = max(float(np.abs(reference[layer]).max()) for layer in layers)
    report: dict[str, float] = {"scale": scale}
    for name, values in results.items():
        if name == "ours":
            continue
        diff = 0.0
        for layer in layers:
            if values[layer].shape != reference[layer].shape:
                raise SystemExit(f"{name} layer {layer}: shape {values[layer].shape}, ours "
                                 f"{reference[layer].shape}")
            diff = max(diff, float(np.abs(values[layer] - reference[layer]).max()))
            if not np.allclose(values[layer], reference[layer], rtol=1e-4, atol=1e-4 * scale):
                raise SystemExit(f"{name} differs from ours at layer {layer}: max |diff| {diff:.3g} "
                                 f"(max |x| {scale:.3g})")
        report[name] = diff
    return report


# --- one timed case ---------------------------------------------------------------------------------------------------

def _rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_case(case: str, folder: Path, tokens_path: Path, layers: list[int], batch_size: int,
             profile: Path | None) -> dict[str, float]:
    """Load, warm up, then time the whole token set through `case` in this process."""
    import gc

    import numpy as np
    import psutil  # noqa: F401
    import torch

    import mistudio.lens.extraction  # noqa: F401  (every case imports the same libraries before the clock)

    if case.startswith("transformerlens"):
        import transformer_lens.model_bridge  # noqa: F401
    if case.startswith("nnsight"):
        import nnsight  # noqa: F401

    tokens = np.load(tokens_path)
    batches = [torch.from_numpy(tokens[i:i + batch_size]) for i in range(0, len(tokens), batch_size)]
    warm = torch.from_numpy(tokens[:WARMUP_SAMPLES])
    work = Path(tempfile.mkdtemp(prefix=f"mistudio-bench-{case}-"))
    stop = case.endswith("-stop")
    if case in ("bare", "ours"):
        model = _load_hf(folder)
    elif case.startswith("transformerlens"):
        model = _load_bridge(folder)
    else:
        model = _load_nnsight(folder)

    if case == "bare":
        def one(ids: torch.Tensor) -> None:
            with torch.inference_mode():
                model(ids)

        def timed() -> None:
            for ids in batches:
                one(ids)
        one(warm)
    elif case == "ours":
        _ours(model, tokens[:WARMUP_SAMPLES], work / "warmup", layers, WARMUP_SAMPLES)

        def timed() -> None:
            _ours(model, tokens, work / "run", layers, batch_size)
    elif case.startswith("transformerlens"):
        _tl_batch(model, warm, layers, stop)

        def timed() -> None:
            for ids in batches:
                _tl_batch(model, ids, layers, stop)
    else:
        _nnsight_batch(model, warm, layers, stop)

        def timed() -> None:
            for ids in batches:
                _nnsight_batch(model, ids, layers, stop)

    gc.collect()
    baseline = _rss_bytes()
    _reset_peak()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    timed()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    peak = _peak_bytes()
    shutil.rmtree(work, ignore_errors=True)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "tokens": int(tokens.size),
            "peak_growth_bytes": peak - baseline}


def _spawn(*args: str) -> dict:
    command = [sys.executable, __file__, *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _print_profile(path: Path, title: str) -> None:
    import pstats

    print(f"\n--- {title}: cProfile, top 25 by cumulative time ---")
    pstats.Stats(str(path)).sort_stats("cumulative").print_stats(25)
    print(f"--- {title}: top 15 by own time ---")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(15)


def main() -> None:
    """Check the peers agree with ours, run every case alternately in fresh processes, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny llama (30 layers, d=64), 2 rounds")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=None, help="rounds of every case (default 3; --quick 2)")
    parser.add_argument("--layer-sets", default=DEFAULT_LAYER_SETS, help="layer sets, ':'-separated")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--profile", action="store_true", help="also run ours once per layer set under cProfile")
    parser.add_argument("--case", choices=(*CASES, "check"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tokens", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--layers", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        import transformers

        transformers.logging.set_verbosity_error()
        layers = [int(x) for x in args.layers.split(",")]
        if args.case == "check":
            print(json.dumps(check(args.folder, args.tokens, layers, args.batch_size)))
        else:
            print(json.dumps(run_case(args.case, args.folder, args.tokens, layers, args.batch_size,
                                      args.profile_to)))
        return

    repeat = args.repeat or (2 if args.quick else 3)
    cases = [case for case in args.cases.split(",") if case]
    layer_sets = [[int(x) for x in group.split(",")] for group in args.layer_sets.split(":")]
    if args.quick:
        folder, name = _tiny_llama(REPO_ROOT / ".cache" / "bench" / "tiny-llama-30"), "tiny llama (30 layers, d=64)"
    else:
        from tests.support.assets import smollm2_hf_dir

        folder, name = smollm2_hf_dir(), "SmolLM2-135M-Instruct (the converted GGUF)"
    tokens_path = _tokens(folder, args.samples, args.seq_len)
    common = ["--folder", str(folder), "--tokens", str(tokens_path), "--batch-size", str(args.batch_size)]
    try:
        print(f"{name}, CPU, {os.cpu_count()} CPUs, torch threads {__import__('torch').get_num_threads()}; "
              f"{args.samples} × {args.seq_len} tokens of Shakespeare, batch {args.batch_size}, resid_post, fp32; "
              f"{repeat} fresh processes per case", flush=True)
        for layers in layer_sets:
            if any(case.split("-")[0] in PEERS for case in cases):
                report = _spawn("--case", "check", "--layers", ",".join(map(str, layers)), *common)
                diffs = ", ".join(f"{k} {v:.2g}" for k, v in report.items() if k != "scale")
                print(f"layers {layers}: activations agree with ours (max |diff|: {diffs}; max |x| "
                      f"{report['scale']:.3g})", flush=True)

        runs: dict[tuple[str, str], list[dict]] = {}
        for _ in range(repeat):
            for layers in layer_sets:
                key = ",".join(map(str, layers))
                for case in cases:
                    if case == "bare" and layers != layer_sets[0]:
                        continue  # no hooks: the layer set does not matter
                    runs.setdefault((key, case), []).append(
                        _spawn("--case", case, "--layers", key, *common))

        if args.profile and "ours" in cases:
            for layers in layer_sets:
                key = ",".join(map(str, layers))
                prof = tokens_path.parent / f"ours-{key}.prof"
                _spawn("--case", "ours", "--layers", key, "--profile-to", str(prof), *common)
                _print_profile(prof, f"ours, layers {key}")
        bare = runs.get((",".join(map(str, layer_sets[0])), "bare"))
        print(f"\n{'layers':<10}{'case':<22}{'tokens/s':>10}{'vs bare':>9}{'ours/this':>11}{'cpu ours/this':>15}"
              f"{'peak RSS +MB':>14}")
        summary: dict[str, float] = {}
        cpu_summary: dict[str, float] = {}
        for layers in layer_sets:
            key = ",".join(map(str, layers))
            rates = {case: results[0]["tokens"] / min(r["seconds"] for r in results)
                     for (k, case), results in runs.items() if k == key}
            cpu_rates = {case: results[0]["tokens"] / min(r["cpu_seconds"] for r in results)
                         for (k, case), results in runs.items() if k == key}
            if bare:
                rates.setdefault("bare", bare[0]["tokens"] / min(r["seconds"] for r in bare))
                cpu_rates.setdefault("bare", bare[0]["tokens"] / min(r["cpu_seconds"] for r in bare))
            for case in CASES:
                if case not in rates:
                    continue
                results = runs.get((key, case)) or bare
                peak = min(r["peak_growth_bytes"] for r in results) / 2**20
                vs_bare = f"{rates[case] / rates['bare']:.2f}x" if "bare" in rates else "-"
                ours = f"{rates['ours'] / rates[case]:.2f}x" if "ours" in rates else "-"
                cpu_ours = f"{cpu_rates['ours'] / cpu_rates[case]:.2f}x" if "ours" in cpu_rates else "-"
                print(f"{key:<10}{case:<22}{rates[case]:>10,.0f}{vs_bare:>9}{ours:>11}{cpu_ours:>15}{peak:>14.0f}")
                if layers == layer_sets[0] and "ours" in rates and case in ("bare", *PEERS):
                    summary[case] = rates["ours"] / rates[case]
                    cpu_summary[case] = cpu_rates["ours"] / cpu_rates[case]
        print("tokens/s: all tokens / fastest wall time; vs bare: this case's tokens/s over bare's; ours/this: ours' "
              "tokens/s over this case's;\npeak RSS +MB: smallest growth of the process's peak RSS over its RSS when "
              "the clock started")
        print("cpu ours/this: the same ratio on the CPU time each process used (steadier on a loaded machine)")
        print("cpu ratios: " + ", ".join(f"{case} {cpu_summary[case]:.2f}x" for case in ("bare", *PEERS)
                                         if case in cpu_summary))
        print("ratios: " + ", ".join(f"{case} {summary[case]:.2f}x" for case in ("bare", *PEERS) if case in summary))
    finally:
        shutil.rmtree(tokens_path.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
