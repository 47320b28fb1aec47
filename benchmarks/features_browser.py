"""Browser latency at 100k latents: p95 of the features list (sorts, filters, label and token search) and of one
latent's detail, through the same service functions the API routes call, on SQLite with the migrations applied.

The 100k rows, the token index and the store on disk (latents.safetensors, examples.parquet: 5 top examples of 17
tokens per latent) are synthetic but of the real shapes, written by the domain's and lens' own writers. The peer is
the naive way: reading the whole examples Parquet to answer one latent. Target: every p95 < 100 ms (issue 13).
`--quick`: 10k latents.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder heads sys.path, and benchmarks/tokenize.py would shadow the stdlib's `tokenize`.
sys.path[:] = [str(REPO_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402

WINDOW_CONTEXT, TOP_K, VOCAB = 8, 5, 5000


def build(home: Path, width: int) -> SimpleNamespace:
    from sqlalchemy import insert

    from mistudio.config import Settings
    from mistudio.domains import register_domains
    from mistudio.features.store import fold
    from mistudio.features.tables import Feature, FeatureAnalysis, FeatureToken
    from mistudio.lens.features.config import AnalysisConfig
    from mistudio.lens.features.result import Examples, FeatureAnalysisResult, LatentSummary
    from mistudio.lens.features.store import save_features
    from mistudio.platform.db import make_engine, session_factory, session_scope, upgrade_database
    from mistudio.platform.storage import Storage
    from mistudio.platform.tables import import_all_tables

    register_domains()
    import_all_tables()
    settings = Settings(home=home, database_url=None, redis_url=None)
    engine = make_engine(settings)
    upgrade_database(engine)
    runtime = SimpleNamespace(sessions=session_factory(engine), storage=Storage(home=home))
    rng = np.random.default_rng(0)
    frequency = rng.beta(0.5, 20, width) * (rng.random(width) > 0.05)
    maximum = rng.gamma(2, 2, width) * (frequency > 0)
    with session_scope(runtime.sessions) as session:
        row = FeatureAnalysis(sae_id="bench", sae_name="bench", model_id="bench", model_name="bench", format="fp32",
                              device="cpu", dataset_id="bench", tokenization_id="bench", source="tokenization",
                              first_sequence=0, num_sequences=10_000, width=width, settings={}, phase="complete",
                              sequences_done=10_000, status="completed", progress=1.0)
        session.add(row)
        session.flush()
        analysis_id = row.id
    words = [f"word{i}" for i in range(VOCAB)]
    features = [{"analysis_id": analysis_id, "latent": i, "frequency": float(frequency[i]),
                 "max_activation": float(maximum[i]), "mean_activation": float(frequency[i] * maximum[i] / 3),
                 "dead": bool(frequency[i] == 0), "label": f'"{words[i % VOCAB]}" after "{words[(i * 7) % VOCAB]}"',
                 "label_kind": "automatic", "label_score": None, "favourite": False, "notes": None}
                for i in range(width)]
    tokens = [{"analysis_id": analysis_id, "latent": i, "token": fold(words[(i * k) % VOCAB]), "source": "peak"}
              for i in range(width) for k in (1, 3, 11)]
    with session_scope(runtime.sessions) as session:
        for table, values in ((Feature, features), (FeatureToken, tokens)):
            for start in range(0, len(values), 5000):
                session.execute(insert(table), values[start:start + 5000])
    window = 2 * WINDOW_CONTEXT + 1
    n = width * TOP_K
    examples = Examples(latent=np.repeat(np.arange(width), TOP_K), kind=np.zeros(n, np.int8),
                        rank=np.tile(np.arange(TOP_K), width), interval=np.full(n, -1), activation=rng.random(n),
                        sequence=rng.integers(0, 10_000, n), position=rng.integers(0, 64, n),
                        tokens=rng.integers(0, VOCAB, (n, window)), activations=rng.random((n, window), np.float32))
    bins = 60
    summary = LatentSummary(tokens=640_000, active_count=(frequency * 640_000).astype(np.int64), frequency=frequency,
                            max_activation=maximum, mean_activation=frequency * maximum / 3,
                            mean_when_active=maximum / 3, histogram=rng.integers(0, 100, (width, bins)),
                            histogram_edges=np.linspace(-3, 3, bins + 1))
    config = AnalysisConfig(top_k=TOP_K, context=WINDOW_CONTEXT, per_interval=0, correlations=0)
    folder = runtime.storage.features_dir(analysis_id)
    save_features(folder, FeatureAnalysisResult(config, width, "blocks.0.resid_post", 10_000, 64, summary, examples,
                                                None))
    (folder / "tokens.json").write_text(json.dumps({"ids": list(range(VOCAB)), "texts": words}))
    return SimpleNamespace(runtime=runtime, analysis_id=analysis_id, folder=folder, width=width, words=words)


def p95(action, repeat: int) -> float:  # type: ignore[no-untyped-def]
    action()  # untimed: first-call imports and caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return float(np.percentile(times, 95)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    width = 10_000 if args.quick else 100_000
    import pyarrow.parquet as pq

    from mistudio.features import browser

    with tempfile.TemporaryDirectory() as home:
        built = build(Path(home), width)
        runtime, analysis_id = built.runtime, built.analysis_id

        def listing(**fields):  # type: ignore[no-untyped-def]
            return lambda: browser.list_features(runtime, analysis_id, browser.FeatureQuery(**fields), limit=50)

        cases = {
            "list by index": listing(),
            "list by frequency": listing(sort="frequency"),
            "list by max, page 100": lambda: browser.list_features(
                runtime, analysis_id, browser.FeatureQuery(sort="max_activation"), page=100, limit=50),
            "list dead": listing(dead=True),
            "list frequency range": listing(min_frequency=0.01, max_frequency=0.05, sort="frequency"),
            "search label": listing(search="word123"),
            "search token": listing(token="WORD42"),
            "detail": lambda: browser.feature_detail(runtime, analysis_id, width // 2),
        }
        results = {name: p95(action, args.repeat) for name, action in cases.items()}
        peer = p95(lambda: pq.read_table(built.folder / "examples.parquet").to_pandas(), max(3, args.repeat // 10))
        print(f"{width:,} latents, SQLite, {TOP_K} top examples of {2 * WINDOW_CONTEXT + 1} tokens each; p95 over "
              f"{args.repeat} calls")
        for name, value in results.items():
            print(f"  {name:<24} {value:8.1f} ms {'ok' if value < 100 else 'OVER 100 ms'}")
        print(f"  {'peer: read all examples':<24} {peer:8.1f} ms")
        print(f"ratios: detail vs whole-file read {peer / results['detail']:.1f}x, worst list p95 "
              f"{max(v for k, v in results.items() if k != 'detail'):.1f} ms (target < 100)")


if __name__ == "__main__":
    main()
