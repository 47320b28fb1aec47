"""Claim: `GET /api/v1/models/{id}/architecture` answers with p95 < 100 ms for SmolLM2-135M (30 layers),
because it is served from stored metadata; the peer is what a researcher does without it — load the model
with transformers and walk its modules (`from_pretrained` + `named_parameters`), same files, same run.

    python benchmarks/architecture_api.py [--requests 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from transformers import AutoModelForCausalLM

    from mistudio.api import create_app
    from mistudio.config import Settings
    from tests.support.assets import smollm2_hf_dir
    from tests.support.studio import wait_until

    folder = smollm2_hf_dir()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=None, redis_url=None, log_level="WARNING")
        with TestClient(create_app(settings)) as client:
            model = client.post("/api/v1/models/import", json={"path": str(folder), "mode": "link"}).json()["data"]
            wait_until(lambda: client.get(f"/api/v1/jobs/{model['job_id']}").json()["data"]["status"] == "succeeded",
                       timeout=300, what="the import")
            ours = []
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.get(f"/api/v1/models/{model['id']}/architecture")
                ours.append(time.perf_counter() - started)
                assert response.status_code == 200 and response.json()["data"]["num_layers"] == 30

    peer = []
    for _ in range(3):
        started = time.perf_counter()
        loaded = AutoModelForCausalLM.from_pretrained(folder)
        sum(parameter.numel() for _name, parameter in loaded.named_parameters())
        peer.append(time.perf_counter() - started)
        del loaded

    ours_p95, peer_median = p95(ours) * 1000, statistics.median(peer) * 1000
    print(f"{'case':<44}{'p95 ms':>10}{'median ms':>12}")
    print(f"{'ours: GET /architecture (' + str(args.requests) + ' requests)':<44}{ours_p95:>10.1f}"
          f"{statistics.median(ours) * 1000:>12.1f}")
    print(f"{'peer: from_pretrained + named_parameters':<44}{'':>10}{peer_median:>12.1f}")
    print(f"ours p95 / 100 ms target: {ours_p95 / 100:.2f}x; peer median / ours p95: {peer_median / ours_p95:.0f}x")


if __name__ == "__main__":
    main()
