"""`mistudio features map ANALYSIS --method pca|umap|tsne`: lay out an analysis' decoder directions in 2-D as one job
(the same service the API calls) and say where the map is stored."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from mistudio.cli.common import console, fail, follow_job, guarded, open_runtime, resolve
from mistudio.cli.features import AnalysisArgument


def map_latents(
    analysis_id: AnalysisArgument,
    method: Annotated[str, typer.Option(help="pca (seconds), umap (umap-learn) or tsne (openTSNE); both with the "
                                        "cosine metric")] = "umap",
    n_neighbors: Annotated[int, typer.Option(help="umap: local neighbourhood size")] = 15,
    min_dist: Annotated[float, typer.Option(help="umap: how tightly points may pack (0 to 1)")] = 0.1,
    perplexity: Annotated[float, typer.Option(help="tsne: effective number of neighbours")] = 30.0,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    detach: Annotated[bool, typer.Option("--detach", help="return once the job is queued")] = False,
) -> None:
    """Compute a map of the SAE's decoder directions; the UI's Map tab and GET /analyses/{id}/maps/{method} show it."""
    from mistudio.features import maps_service
    from mistudio.features.maps_schemas import MapIn
    from mistudio.system import service as system

    try:
        body = MapIn(method=method, n_neighbors=n_neighbors, min_dist=min_dist, perplexity=perplexity,  # type: ignore[arg-type]
                     seed=seed)
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}")
    runtime = open_runtime()
    analysis_id = resolve(runtime, "analysis", analysis_id)
    started = guarded(lambda: maps_service.start_map(runtime, analysis_id, body))
    console.print(f"computing the {method} map of analysis {analysis_id} (job {started.job_id})", highlight=False)
    if detach:
        return
    try:
        follow_job(runtime, started.job_id, f"{method} map")
    except KeyboardInterrupt:
        guarded(lambda: system.cancel_job(runtime, started.job_id))
        console.print("cancelled; no map was stored", highlight=False)
        raise typer.Exit(130) from None
    stored = guarded(lambda: maps_service.get_map(runtime, analysis_id, method))
    console.print(f"{method} map of {stored.width:,} latents: x from {min(stored.x):.3g} to {max(stored.x):.3g}, "
                  f"y from {min(stored.y):.3g} to {max(stored.y):.3g}; stored in "
                  f"{maps_service.map_path(runtime.storage, analysis_id, method)}", highlight=False)
