"""Claim: with the model warm in the model host, the first token comes at least 10× sooner than cold (host not
started, model not loaded), and tokens stream at ≥ 0.95× the rate of plain `transformers` `generate` in this process.

SmolLM2-135M-Instruct (the real asset, fp32), greedy, the same chat-templated prompt everywhere; the greedy texts of
the host and of plain `generate` are checked equal first, so both did the same work. Time to first token (TTFT) is
measured where a user sees it: from sending the request to the first token's arrival (for the host, through the pipe
and its reader thread); tokens/s is the decode rate after the first token, (tokens − 1) / (last − first arrival).
Warm and plain runs alternate `--repeat` times so background load hits both alike. The ratios use the best run of
each (shortest TTFT, highest tokens/s): other processes only ever slow a run down, so the best is the least disturbed
(as in model_load.py); the medians are shown next to them.

    python benchmarks/generate.py [--max-new-tokens 64] [--repeat 5] [--device cpu] [--threads N]

`--threads` sets the CPU threads of both processes alike (OMP_NUM_THREADS, read by torch in the host when it
starts): on a shared machine, two processes each spinning as many threads as there are cores mostly wait.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder heads sys.path, and benchmarks/tokenize.py would shadow the stdlib's `tokenize`.
sys.path[:] = [str(REPO_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."


class Timed:
    """Arrival times of a request's tokens (request sent at `sent`)."""

    def __init__(self) -> None:
        self.sent = time.perf_counter()
        self.arrivals: list[float] = []

    def token(self, *_: Any) -> None:
        self.arrivals.append(time.perf_counter())

    def figures(self) -> dict[str, float]:
        first, last, n = self.arrivals[0], self.arrivals[-1], len(self.arrivals)
        return {"ttft": first - self.sent, "tokens_per_s": (n - 1) / (last - first) if n > 1 else 0.0,
                "tokens": float(n)}


def host_run(host: Any, folder: Path, device: str, max_new_tokens: int) -> tuple[dict[str, float], str]:
    from mistudio.models.generate_schemas import GENERATE_HANDLER

    payload = {"model": {"model_id": "smollm2", "folder": str(folder), "format": "fp32", "device": device,
                         "trust_remote_code": False},
               "prompt": PROMPT, "use_chat_template": True, "max_new_tokens": max_new_tokens, "temperature": 0.0,
               "top_p": 1.0, "seed": 0}
    timed = Timed()
    result = host.call(GENERATE_HANDLER, payload, what="benchmarking", on_event=timed.token)
    return timed.figures(), result["text"]


class PlainStreamer:
    """Records token arrivals from plain `generate` (the first `put` is the prompt)."""

    def __init__(self, timed: Timed) -> None:
        self.timed, self.prompt_seen = timed, False

    def put(self, value: Any) -> None:
        if self.prompt_seen:
            self.timed.token()
        self.prompt_seen = True

    def end(self) -> None:
        pass


def plain_run(model: Any, tokenizer: Any, device: str, max_new_tokens: int) -> tuple[dict[str, float], str]:
    import torch

    from mistudio.models.host import prompt_ids, sampling_options

    ids = prompt_ids(tokenizer, PROMPT, True).to(device)
    timed = Timed()
    with torch.no_grad():
        output = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                                streamer=PlainStreamer(timed), **sampling_options(0.0, 1.0))
    return timed.figures(), tokenizer.decode(output[0, ids.shape[1]:], skip_special_tokens=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per process (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch is imported here or in the host

    from mistudio.config import load_settings
    from mistudio.domains import register_domains
    from mistudio.platform.host.client import ModelHost
    from tests.support.assets import smollm2_hf_dir

    folder = smollm2_hf_dir()
    register_domains()
    settings = load_settings(home=Path(tempfile.mkdtemp(prefix="mistudio-bench-")), log_level="WARNING")
    host = ModelHost(settings)
    try:
        cold, cold_text = host_run(host, folder, args.device, args.max_new_tokens)  # starts the host, loads the model
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).to(args.device).eval()
        warm_runs, plain_runs = [], []
        for _ in range(args.repeat):
            warm, warm_text = host_run(host, folder, args.device, args.max_new_tokens)
            plain, plain_text = plain_run(model, tokenizer, args.device, args.max_new_tokens)
            if not warm_text == plain_text == cold_text:
                raise SystemExit(f"the host and plain generate disagree:\n{warm_text!r}\n{plain_text!r}")
            warm_runs.append(warm)
            plain_runs.append(plain)
    finally:
        host.close()

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    def best(runs: list[dict[str, float]], key: str) -> float:
        return min(run[key] for run in runs) if key == "ttft" else max(run[key] for run in runs)

    print(f"SmolLM2-135M-Instruct fp32 on {args.device} ({torch.get_num_threads()} CPU threads per process), greedy, "
          f"{args.max_new_tokens} new tokens at most, {args.repeat} alternating runs (cold: 1 run)")
    print(f"{'case':36} {'TTFT best':>10} {'median':>8} {'tokens/s best':>14} {'median':>8} {'tokens':>7}")
    print(f"{'cold (host started, model loaded)':36} {cold['ttft']:10.3f} {'':>8} {cold['tokens_per_s']:14.1f} "
          f"{'':>8} {cold['tokens']:7.0f}")
    for name, runs in (("warm (model resident in the host)", warm_runs), ("plain transformers generate", plain_runs)):
        print(f"{name:36} {best(runs, 'ttft'):10.3f} {median(runs, 'ttft'):8.3f} {best(runs, 'tokens_per_s'):14.1f} "
              f"{median(runs, 'tokens_per_s'):8.1f} {median(runs, 'tokens'):7.0f}")
    ttft_ratio = best(warm_runs, "ttft") / cold["ttft"]
    rate_ratio = best(warm_runs, "tokens_per_s") / best(plain_runs, "tokens_per_s")
    verdict = {True: "PASS", False: "FAIL"}
    print(f"warm TTFT / cold TTFT          = {ttft_ratio:.4f}  (target ≤ 0.1)  {verdict[ttft_ratio <= 0.1]}")
    print(f"warm tokens/s / plain tokens/s = {rate_ratio:.3f}   (target ≥ 0.95) {verdict[rate_ratio >= 0.95]}")


if __name__ == "__main__":
    main()
