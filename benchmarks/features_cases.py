"""The two ways `benchmarks/features.py` compares of finding each latent's max-activating examples, one per process
(so each process's peak RSS is its own method's):

- ours: `lens.features.FeatureAnalysis` as a notebook calls it (first pass only: statistics, histogram and the
  streaming top-k; no interval samples or correlations, which the peer does not compute either);
- in-memory-topk: the way SAEDashboard (`FeatureDataGenerator.get_feature_data` → `SequenceDataGenerator`) and sae_vis
  do it, written plainly: keep every latent's activation on every token (one [batch, seq, width] tensor per
  minibatch, `torch.cat` at the end, as SAEDashboard does), then per latent the top-k tokens of the whole tensor
  (`topk` over batch × seq) and a window of tokens and activations around each. SAEDashboard's own package is not
  used: `pip install sae-dashboard` (0.8.0) in .venv-saepeers wants torch 2.14.1 with CUDA over the pinned 2.13 CPU
  build. Unlike SAEDashboard, which runs the model once per batch of `n_features_at_a_time` latents, this runs it
  once for all latents: the peer gets the forward passes at the same cost as ours.

Both run the same `LatentEncoder` (the model up to the SAE's hook point with a stopping read hook, the same
pre-activations and top-k), batch 8 sequences, fp32, so what differs is only what each keeps and how it selects: ours
takes the TopK SAE's k active latents per token as they come (`LatentEncoder.active`), the peer the dense latents it
stores (`LatentEncoder.__call__`). Timing covers the passes and building
the examples (model and SAE load outside), in wall and CPU time; peak memory is VmHWM right after
(`training_cases._peak_rss_bytes`).

    python benchmarks/features_cases.py CASE --sae FOLDER --windows N --out RESULT.npz [--threads 2]

Prints one JSON line; RESULT.npz holds, per latent, the top-k values each method found (for the agreement check).
"""

from __future__ import annotations

import os
import sys
import time

# Run as a script, this folder heads sys.path, and benchmarks/tokenize.py would shadow the stdlib's `tokenize`.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [os.path.dirname(_HERE)] + [p for p in sys.path if os.path.realpath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.training_cases import _peak_rss_bytes, _rss_bytes  # noqa: E402

CASES = ("ours", "in-memory-topk")
TOP_K, CONTEXT, BATCH = 20, 16, 8


def ours(model: torch.nn.Module, sae, input_ids: torch.Tensor) -> np.ndarray:  # noqa: ANN001
    """Our streaming analysis; returns each latent's top-k peak activations [width, k] (0 where fewer)."""
    from mistudio.lens.features import AnalysisConfig, FeatureAnalysis

    analysis = FeatureAnalysis(sae, AnalysisConfig(top_k=TOP_K, context=CONTEXT, per_interval=0, correlations=0,
                                                   batch_size=BATCH))
    analysis.run(model, input_ids)
    examples = analysis.result(input_ids).examples
    top = np.zeros((sae.width, TOP_K), np.float32)
    keep = examples.kind == 0
    top[examples.latent[keep], examples.rank[keep]] = examples.activation[keep]
    return top


def in_memory_topk(model: torch.nn.Module, sae, input_ids: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:  # noqa: ANN001
    """SAEDashboard's method (module docstring); returns its token-level top-k [width, k] and the stored tensor."""
    from mistudio.lens.features.encoding import LatentEncoder

    encoder = LatentEncoder(model, sae, "cpu")
    stored = [encoder(input_ids[start:start + BATCH]) for start in range(0, input_ids.shape[0], BATCH)]
    acts = torch.cat(stored)  # [sequences, seq_len, width]: every activation of every token
    del stored
    sequences, length, width = acts.shape
    flat = acts.view(sequences * length, width)
    values, where = flat.topk(TOP_K, dim=0)  # [k, width]: each latent's k largest tokens over the whole tensor
    sequence, position = where // length, where % length
    # The example windows: tokens and this latent's activations CONTEXT either side of each peak (-1 / 0 outside).
    offsets = torch.arange(-CONTEXT, CONTEXT + 1)
    columns = position[..., None] + offsets  # [k, width, window]
    inside = (columns >= 0) & (columns < length)
    columns = columns.clamp(0, length - 1)
    rows = sequence[..., None].expand_as(columns)
    window_tokens = torch.where(inside, input_ids[rows, columns], -1)
    latent = torch.arange(width)[None, :, None].expand_as(columns)
    window_acts = torch.where(inside, acts[rows, columns, latent], 0.0)
    assert window_tokens.shape == window_acts.shape == (TOP_K, width, 2 * CONTEXT + 1)
    return values.T.contiguous().numpy(), acts


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=CASES)
    parser.add_argument("--sae", type=Path, required=True)
    parser.add_argument("--windows", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from benchmarks.training import _token_windows
    from mistudio.lens import open_model
    from mistudio.lens.sae import load
    from tests.support.assets import smollm2_hf_dir

    handle = open_model(smollm2_hf_dir())
    sae = load(args.sae)
    input_ids = torch.from_numpy(np.stack(_token_windows(handle.tokenizer, args.windows)))
    rss_start, loaded, cpu = _rss_bytes(), time.perf_counter(), time.process_time()
    with torch.no_grad():
        if args.case == "ours":
            top = ours(handle.model, sae, input_ids)
            seconds, cpu, peak = time.perf_counter() - loaded, time.process_time() - cpu, _peak_rss_bytes()
            np.savez(args.out, top=top, sequence_top=top)
        else:
            token_top, acts = in_memory_topk(handle.model, sae, input_ids)
            seconds, cpu, peak = time.perf_counter() - loaded, time.process_time() - cpu, _peak_rss_bytes()
            # For the check only, after the measurement: the top-k of each sequence's peak (what ours keeps, one
            # example per sequence) from the same stored tensor.
            sequence_top = acts.amax(dim=1).topk(min(TOP_K, acts.shape[0]), dim=0).values.T.numpy()
            np.savez(args.out, top=token_top, sequence_top=sequence_top)
    tokens = int(input_ids.numel())
    print(json.dumps({"case": args.case, "tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds,
                      "cpu_seconds": cpu, "cpu_tokens_per_second": tokens / cpu,
                      "rss_start_bytes": rss_start, "peak_rss_bytes": peak, "startup_seconds": loaded - started,
                      "width": sae.width, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
