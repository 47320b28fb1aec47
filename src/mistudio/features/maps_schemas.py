"""Request and response bodies of feature maps (2-D layouts of decoder directions) and the correlation heatmap."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MapMethodName = Literal["pca", "umap", "tsne"]
MAX_HEATMAP_LATENTS = 64


class MapIn(BaseModel):
    """Which layout to compute; only the chosen method's parameters are used (their upper bounds depend on the
    SAE's width and are checked against it: 400 naming the field)."""

    model_config = ConfigDict(extra="forbid")

    method: MapMethodName = Field(description="pca (seconds), umap (umap-learn, cosine) or tsne (openTSNE, cosine)")
    n_neighbors: int = Field(default=15, ge=2, le=1000, description="umap: local neighbourhood size")
    min_dist: float = Field(default=0.1, ge=0.0, le=1.0, description="umap: how tightly points may pack")
    perplexity: float = Field(default=30.0, ge=1.0, le=1000.0, description="tsne: effective number of neighbours; "
                              "at most (latents − 1) / 3")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class MapAccepted(BaseModel):
    analysis_id: str
    method: MapMethodName
    job_id: str


class MapOut(BaseModel):
    """A computed map as columns: entry i of every array is latent i (arrays, not objects, for 100k latents)."""

    analysis_id: str
    method: MapMethodName
    params: dict[str, float | int] = Field(description="the parameters the map was computed with")
    width: int
    x: list[float]
    y: list[float]
    frequency: list[float]
    label: list[str | None]
    label_score: list[float | None]
    dead: list[bool]


class CorrelationsOut(BaseModel):
    """Pearson correlations over the analysed tokens between the chosen latents, from the analysis' store.

    The analysis keeps each latent's `kept_per_latent` most correlated latents only (not all pairs), so a cell is
    the stored value when either latent kept the other, else null (weaker than what was kept, or never measured).
    The diagonal is 1 for a latent that fired and null for a dead one (its correlation is undefined)."""

    latents: list[int]
    matrix: list[list[float | None]]
    kept_per_latent: int = Field(description="correlations the analysis stored per latent (0: none were computed)")
