"""Claim (issue 14): steering costs next to nothing over plain generation, and batching makes the comparison and the
strength sweep cheap. SmolLM2-135M (the real asset, fp32, CPU), greedy, 48 new tokens, a contrastive direction
(happy − sad, last token) added at `blocks.10.resid_post` (the output of decoder layer 10) on every position.

Cases, one warm model per library, all in this process, each starting from the same prompt ids:
- plain: `model.generate` without any hook (the floor);
- raw-hook: the same with a bare torch forward hook on layer 10 adding the vector (what steering costs at least);
- ours: `lens.steer.generate(handle, prompt, [direction.intervention(strength)])`;
- nnsight: nnsight 0.8 `TransformersModel(..., task="text-generation").generate`, every step (`tracer.all()`
  bounded to the new tokens: `tracer.iter[:48]`) setting `model.layers[10].output` to itself plus the vector (its
  own copy of the model: nnsight wraps the modules it loads);
- sweep: 8 strengths as 8 rows of one `lens.steer.generate_runs` call vs 8 separate `lens.steer.generate` calls;
- pair: `lens.steer.compare(..., batched=True)` (baseline and steered as two rows of one `generate`) vs
  `batched=False` (one after the other).
After the first round, the texts are checked: raw-hook, ours and nnsight give the same steered tokens; each batched
sweep row and each batched pair run gives the tokens of its separate run; every run but the sweep's makes all its
new tokens (no early end of sequence), so times compare the same work (a sweep row that ends early is padded to the
end in the batch, more work for ours, and stops in its separate run). Every later round must give the same tokens.
Cases alternate within each of `--repeat` rounds (the order reversed every other round) so background load hits all
alike; a case's time is its fastest round (other processes only ever slow a run down), the median is shown next
to it. Targets: ours ≤ 1.05× plain's time, ours ≥ 1.0×
nnsight's tokens/s, the batched sweep ≥ 3× faster than 8 separate runs, the batched pair ≥ 1.6× faster than two.
CPU time of this process per case (fastest round) is shown too, with the same ratios on it (`cpu ratios:`): less
disturbed by other processes on a shared machine, but it counts the threads' spin-waits. Last line:
`ratios: plain N.NNx, nnsight N.NNx, sweep N.NNx, pair N.NNx`, each "ours is N× better" (plain: plain's time over
ours, target ≥ 0.95x).

    python benchmarks/steering.py [--quick] [--repeat N] [--max-new-tokens 48] [--threads N] [--omp-wait passive]

`--omp-wait passive` sets OMP_WAIT_POLICY before torch loads: OpenMP threads sleep between parallel regions instead
of spinning. With spinning (OpenMP's default) CPU time counts the waits too, and on a shared machine a thread whose
partner was descheduled spins until the partner returns; with passive waits CPU time is the work (a 2-row decoding
step measured that way is 1.02–1.06× the work of a 1-row step). The header says which policy ran.

`--quick`: 2 rounds (default 4), after a 4-token warm-up of every case; under 5 minutes on 2 idle CPU cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder heads sys.path, and benchmarks/tokenize.py would shadow the stdlib's `tokenize`.
sys.path[:] = [str(REPO_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local files
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LAYER = 10
HOOK = f"blocks.{LAYER}.resid_post"
PROMPT = "My favourite thing about the weekend is"
POSITIVE = ["I am so happy today", "What a wonderful gift", "I love this place", "This is the best day"]
NEGATIVE = ["I am so sad today", "What a terrible gift", "I hate this place", "This is the worst day"]
STRENGTH = 4.0  # × the contrastive direction (its norm is a few units; block 10's residual is ~10× that)
SWEEP = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0]
TARGETS = {"plain": 1 / 1.05, "nnsight": 1.0, "sweep": 3.0, "pair": 1.6}


class Bench:
    """The warm models, the steering vector and one function per case (each returns its runs' new token ids)."""

    def __init__(self, max_new_tokens: int) -> None:
        import torch
        from nnsight import TransformersModel

        from mistudio.lens import open_model, steer
        from tests.support.assets import smollm2_hf_dir

        self.torch, self.steer = torch, steer
        folder = smollm2_hf_dir()
        self.handle = open_model(folder, "fp32")
        self.model, self.tokenizer = self.handle.model, self.handle.tokenizer
        self.set_length(max_new_tokens)
        self.direction = steer.contrastive_direction(self.handle, POSITIVE, NEGATIVE, HOOK, name="happy")
        self.vector = (self.direction.vector * STRENGTH).float()
        self.ids = steer.encode_prompt(self.tokenizer, PROMPT, use_chat_template=False)
        self.nnsight = TransformersModel(str(folder), task="text-generation", dispatch=True, device_map="cpu",
                                         dtype=torch.float32)

    def set_length(self, max_new_tokens: int) -> None:
        """How many new tokens every case generates."""
        self.settings = self.steer.GenerationSettings(max_new_tokens=max_new_tokens, use_chat_template=False, seed=0)
        self.options = {"max_new_tokens": max_new_tokens, "do_sample": False, "temperature": None, "top_p": None,
                        "top_k": None, "pad_token_id": self.tokenizer.eos_token_id}

    def _plain_generate(self, model) -> list[list[int]]:  # noqa: ANN001
        with self.torch.no_grad():
            output = model.generate(input_ids=self.ids, attention_mask=self.torch.ones_like(self.ids), **self.options)
        return [output[0, self.ids.shape[1]:].tolist()]

    def plain(self) -> list[list[int]]:
        return self._plain_generate(self.model)

    def raw_hook(self) -> list[list[int]]:
        def add(module, args, output):  # noqa: ANN001,ANN202
            return output + self.vector

        handle = self.model.model.layers[LAYER].register_forward_hook(add)
        try:
            return self._plain_generate(self.model)
        finally:
            handle.remove()

    def ours(self) -> list[list[int]]:
        run = self.steer.generate(self.handle, PROMPT, [self.direction.intervention(STRENGTH)], self.settings)
        return [run.output_ids.tolist()]

    def nnsight_case(self) -> list[list[int]]:
        model, vector = self.nnsight, self.vector
        prompt_ids = self.ids
        with model.generate(prompt_ids, **self.options) as tracer:
            # tracer.all() with its count: an open loop ends only by the run ending, and the result after it would
            # never be read (nnsight says so); one step per new token, the prompt's pass being the first.
            for _ in tracer.iter[:self.options["max_new_tokens"]]:
                model.model.layers[LAYER].output = model.model.layers[LAYER].output + vector
            generated = tracer.result.save()
        return [generated[0, prompt_ids.shape[1]:].tolist()]

    def _sweep_runs(self) -> list[tuple[str, list]]:
        return [(f"s{strength:g}", [self.direction.intervention(strength)]) for strength in SWEEP]

    def sweep_batched(self) -> list[list[int]]:
        runs = self.steer.generate_runs(self.handle, self.ids, self._sweep_runs(), self.settings, seed=0)
        return [run.output_ids.tolist() for run in runs]

    def sweep_separate(self) -> list[list[int]]:
        return [self.steer.generate(self.handle, PROMPT, steering, self.settings).output_ids.tolist()
                for _, steering in self._sweep_runs()]

    def _pair(self, batched: bool) -> list[list[int]]:
        comparison = self.steer.compare(self.handle, PROMPT, [self.direction.intervention(STRENGTH)], self.settings,
                                        batched=batched)
        return [comparison.baseline.output_ids.tolist(), comparison.steered.output_ids.tolist()]

    def pair_batched(self) -> list[list[int]]:
        return self._pair(True)

    def pair_separate(self) -> list[list[int]]:
        return self._pair(False)

    def cases(self) -> dict[str, Callable[[], list[list[int]]]]:
        return {"plain": self.plain, "raw-hook": self.raw_hook, "ours": self.ours, "nnsight": self.nnsight_case,
                "sweep-batched": self.sweep_batched, "sweep-separate": self.sweep_separate,
                "pair-batched": self.pair_batched, "pair-separate": self.pair_separate}


def check_same_work(outputs: dict[str, list[list[int]]], max_new_tokens: int) -> None:
    """Refuse to time cases that did not do the same work (see the module docstring)."""
    problems = []
    for case, runs in outputs.items():
        if case.startswith("sweep"):
            continue  # a strong push may well end the text: its batched and separate runs must only agree
        short = [len(run) for run in runs if len(run) != max_new_tokens]
        if short:
            problems.append(f"{case} made {short} tokens instead of {max_new_tokens} (an end of sequence)")
    for peer in ("raw-hook", "nnsight"):
        if outputs[peer] != outputs["ours"]:
            problems.append(f"{peer}'s steered tokens differ from ours")
    for kind in ("sweep", "pair"):
        for row, (together, alone) in enumerate(zip(outputs[f"{kind}-batched"], outputs[f"{kind}-separate"],
                                                     strict=True)):
            if together != alone:
                problems.append(f"{kind} row {row}: batched tokens differ from its separate run")
    if outputs["pair-batched"][1] != outputs["ours"][0]:
        problems.append("the pair's steered run differs from the single steered run")
    if problems:
        raise SystemExit("not the same work:\n  " + "\n  ".join(problems))


def _ratios(seconds: dict[str, float]) -> dict[str, float]:
    """Every claim as "ours is N× better" (higher is better): plain's time over ours, nnsight's over ours, …"""
    return {"plain": seconds["plain"] / seconds["ours"], "nnsight": seconds["nnsight"] / seconds["ours"],
            "sweep": seconds["sweep-separate"] / seconds["sweep-batched"],
            "pair": seconds["pair-separate"] / seconds["pair-batched"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    parser.add_argument("--repeat", type=int, default=None, help="rounds of every case (default 4; --quick 2)")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--omp-wait", choices=["active", "passive"], default=None,
                        help="OMP_WAIT_POLICY for torch's threads (default: the environment's, else OpenMP's)")
    args = parser.parse_args()
    repeat = args.repeat or (2 if args.quick else 4)
    if args.omp_wait:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait.upper()  # read once, when OpenMP starts with torch's import
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    bench = Bench(args.max_new_tokens)
    cases = bench.cases()
    bench.set_length(4)  # a short warm-up of every path (first calls allocate, nnsight builds its tracer)
    for case in cases.values():
        case()
    bench.set_length(args.max_new_tokens)
    wait = os.environ.get("OMP_WAIT_POLICY", "OpenMP default")
    print(f"SmolLM2-135M fp32, CPU ({torch.get_num_threads()} torch threads, OMP wait {wait}), greedy, "
          f"{args.max_new_tokens} new tokens, {HOOK} + {STRENGTH:g} × happy−sad (norm {bench.direction.norm:.2f}) "
          f"on every position; load and warm-up {time.perf_counter() - started:.0f} s; {repeat} rounds", flush=True)
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    cpu_seconds: dict[str, list[float]] = {name: [] for name in cases}
    outputs: dict[str, list[list[int]]] = {}
    for round_index in range(repeat):
        order = list(cases) if round_index % 2 == 0 else list(reversed(cases))
        for name in order:
            clock, cpu_clock = time.perf_counter(), time.process_time()
            produced = cases[name]()
            seconds[name].append(time.perf_counter() - clock)
            cpu_seconds[name].append(time.process_time() - cpu_clock)
            print(f"  round {round_index + 1} {name}: {seconds[name][-1]:.2f} s", file=sys.stderr, flush=True)
            if outputs.setdefault(name, produced) != produced:
                raise SystemExit(f"{name} gave other tokens in round {round_index + 1}: greedy is not deterministic")
        if round_index == 0:
            check_same_work(outputs, args.max_new_tokens)  # before spending more rounds on it
    best = {name: min(times) for name, times in seconds.items()}
    cpu = {name: min(times) for name, times in cpu_seconds.items()}
    print(f"{'case':16} {'runs':>5} {'best s':>8} {'median s':>9} {'tokens/s':>9} {'per run s':>10} {'cpu s':>7}")
    for name, times in seconds.items():
        tokens = sum(len(run) for run in outputs[name])
        print(f"{name:16} {len(outputs[name]):5d} {best[name]:8.2f} {statistics.median(times):9.2f} "
              f"{tokens / best[name]:9.1f} {best[name] / len(outputs[name]):10.2f} {cpu[name]:7.2f}")
    ratios, cpu_ratios = _ratios(best), _ratios(cpu)
    notes = {"plain": "plain time / ours (≥ 0.95: ours ≤ 1.05× plain)", "nnsight": "ours tokens/s / nnsight's",
             "sweep": "8 separate / one batch of 8", "pair": "two separate / one batch of 2"}
    for name, ratio in ratios.items():
        verdict = "PASS" if ratio >= TARGETS[name] else "FAIL"
        print(f"{notes[name]:48} {ratio:6.2f}x  target ≥ {TARGETS[name]:.2f}  {verdict}")
    print(f"raw hook over plain: {best['plain'] / best['raw-hook']:.2f}x; total {time.perf_counter() - started:.0f} s")
    print("cpu ratios: " + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in cpu_ratios.items()))
    print("ratios: " + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in ratios.items()))


if __name__ == "__main__":
    main()
