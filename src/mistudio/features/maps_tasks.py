"""Job body of a feature map: lay out the SAE's decoder directions in 2-D and store the layout beside the analysis."""

from __future__ import annotations

import json
from typing import Any

from mistudio.features.maps_service import MAP_KIND, USED_PARAMS, map_path
from mistudio.features.tasks import _read
from mistudio.platform.jobs.context import JobContext
from mistudio.platform.jobs.registry import job_kind


# Queue io: a map runs on the CPU (umap-learn and openTSNE have no GPU path), so it need not wait behind GPU jobs.
@job_kind(MAP_KIND, queue="io")
def run_map(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Compute `params["method"]` for an analysis' SAE and write features/{analysis_id}/map_{method}.npz."""
    import numpy as np

    from mistudio.lens.features.maps import MapParams, decoder_map
    from mistudio.lens.sae.formats import load

    analysis_id, method = params["analysis_id"], params["method"]
    row = _read(ctx, analysis_id)
    ctx.progress(0.0, "loading the SAE's decoder")
    decoder = load(ctx.storage.sae_dir(row["sae_id"]), device="cpu").W_dec.detach()
    knobs = MapParams(**{name: params[name] for name in ("n_neighbors", "min_dist", "perplexity", "seed")})
    ctx.progress(0.05, f"{method} layout of {decoder.shape[0]:,} decoder directions")
    layout = decoder_map(decoder, method, knobs,
                         on_progress=lambda fraction, message: ctx.progress(0.05 + 0.9 * fraction, message))
    path = map_path(ctx.storage, analysis_id, method)
    partial = path.with_suffix(".partial.npz")
    # Written aside then renamed: the file's presence is what says the map is done.
    used = {name: params[name] for name in USED_PARAMS[method]}
    np.savez(partial, x=layout[:, 0], y=layout[:, 1], params=np.array(json.dumps(used)))
    partial.replace(path)
    ctx.progress(1.0, f"{method} map of {layout.shape[0]:,} latents")
    return {"analysis_id": analysis_id, "method": method, "path": str(path)}
