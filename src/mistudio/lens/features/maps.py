"""2-D maps of an SAE's decoder directions: PCA, UMAP (umap-learn) or t-SNE (openTSNE), each deterministic.

Every method lays out the rows of W_dec normalised to unit length (a latent's direction, not its scale), so
cosine is the similarity that matters: UMAP and t-SNE use the cosine metric, and on unit vectors PCA's Euclidean
geometry is a monotone function of cosine. Memory stays linear in the latents (float32 [width, d] plus d × d for
PCA; UMAP and t-SNE find approximate nearest neighbours for large widths), never width × width.

    from mistudio.lens.features.maps import decoder_map
    layout = decoder_map(sae.W_dec, "umap", n_neighbors=15, min_dist=0.1, seed=0)   # [width, 2] float32
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from mistudio.lens.errors import InvalidArgument

MapMethod = Literal["pca", "umap", "tsne"]
METHODS: tuple[MapMethod, ...] = ("pca", "umap", "tsne")
_PACKAGES = {"umap": ("umap", "umap-learn"), "tsne": ("openTSNE", "openTSNE")}
Progress = Callable[[float, str], None]


class MapMethodUnavailable(InvalidArgument):
    """The method's package is not installed here; the message says which to install."""

    code = "map_method_not_installed"


@dataclass(frozen=True)
class MapParams:
    """The knobs of each method (only the chosen method's are used); checked against the width by `check_params`."""

    n_neighbors: int = 15  # umap: size of the local neighbourhood (larger: more global structure)
    min_dist: float = 0.1  # umap: how tightly points may pack (0 to 1)
    perplexity: float = 30.0  # tsne: effective number of neighbours
    seed: int = 0


def unit_directions(decoder: torch.Tensor | np.ndarray) -> np.ndarray:
    """Rows of W_dec [width, d] scaled to unit length, float32 (a zero row stays zero)."""
    rows = torch.as_tensor(decoder).detach().float().cpu()
    return (rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-12)).numpy()


def available(method: MapMethod) -> bool:
    """Whether the method's package can be imported here (PCA needs nothing beyond torch)."""
    return method not in _PACKAGES or importlib.util.find_spec(_PACKAGES[method][0]) is not None


def check_params(method: str, width: int, params: MapParams) -> None:
    """Raise InvalidArgument naming the field when a method cannot run on `width` latents with these params."""
    if method not in METHODS:
        raise InvalidArgument(f"method must be one of {', '.join(METHODS)}; got {method!r}",
                              details={"field": "method"})
    if width < 3:
        raise InvalidArgument(f"a map needs at least 3 latents; this SAE has {width}", details={"field": "method"})
    if method == "umap" and not 2 <= params.n_neighbors < width:
        raise InvalidArgument(f"n_neighbors must be from 2 to {width - 1} (fewer than the {width} latents); got "
                              f"{params.n_neighbors}", details={"field": "n_neighbors", "min": 2, "max": width - 1})
    if method == "umap" and not 0.0 <= params.min_dist <= 1.0:
        raise InvalidArgument(f"min_dist must be from 0 to 1; got {params.min_dist}", details={"field": "min_dist"})
    # t-SNE calibrates each point's bandwidth on about 3·perplexity neighbours, so there must be that many others.
    largest = (width - 1) / 3
    if method == "tsne" and not 1.0 <= params.perplexity <= largest:
        raise InvalidArgument(f"perplexity must be from 1 to {largest:g} ((latents − 1) / 3 for {width} latents); "
                              f"got {params.perplexity:g}", details={"field": "perplexity", "min": 1, "max": largest})
    if method in _PACKAGES and not available(method):  # type: ignore[arg-type]
        module, package = _PACKAGES[method]
        raise MapMethodUnavailable(f"{method} maps need {package}, which is not installed (pip install {package})",
                                   details={"field": "method"})


def pca_layout(directions: np.ndarray) -> np.ndarray:
    """The centred directions projected on their top two principal axes, [width, 2] float32.

    From the d × d covariance (eigh, float64), not an SVD of [width, d], so 100k latents cost d² memory. Each
    axis' sign is fixed so that its largest loading is positive: reruns and other SVDs agree exactly, not up to
    a flip."""
    rows = torch.as_tensor(directions, dtype=torch.float32)
    mean = rows.double().mean(dim=0)
    covariance = torch.zeros(rows.shape[1], rows.shape[1], dtype=torch.float64)
    for start in range(0, rows.shape[0], 8192):  # float64 products a chunk at a time
        chunk = rows[start:start + 8192].double() - mean
        covariance += chunk.T @ chunk
    _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
    axes = vectors[:, [-1, -2]]
    largest = axes.abs().argmax(dim=0)
    axes = axes * torch.sign(axes[largest, torch.arange(2)])
    return torch.cat([((rows[start:start + 8192].double() - mean) @ axes).float()
                      for start in range(0, rows.shape[0], 8192)]).numpy()


def umap_layout(directions: np.ndarray, params: MapParams) -> np.ndarray:
    """UMAP with the cosine metric; a fixed `random_state` makes it deterministic (and single-threaded)."""
    import umap

    reducer = umap.UMAP(n_components=2, n_neighbors=params.n_neighbors, min_dist=params.min_dist, metric="cosine",
                        random_state=params.seed, transform_seed=params.seed, n_jobs=1)
    return np.asarray(reducer.fit_transform(directions), dtype=np.float32)


def tsne_layout(directions: np.ndarray, params: MapParams, on_progress: Progress | None = None) -> np.ndarray:
    """openTSNE with the cosine metric, PCA initialisation and a fixed seed (one thread, so runs agree)."""
    from openTSNE import TSNE

    iterations = 750  # openTSNE's defaults: 250 early exaggeration + 500 more
    callbacks = None
    if on_progress is not None:
        def report(iteration: int, error: float, embedding: object) -> bool:
            on_progress(min(iteration / iterations, 1.0), f"t-SNE iteration {iteration} (KL {error:.3f})")
            return False  # never stop early

        callbacks = report
    tsne = TSNE(n_components=2, perplexity=params.perplexity, metric="cosine", initialization="pca",
                random_state=params.seed, n_jobs=1, callbacks=callbacks, callbacks_every_iters=50)
    return np.asarray(tsne.fit(directions), dtype=np.float32)


def decoder_map(decoder: torch.Tensor | np.ndarray, method: MapMethod, params: MapParams | None = None,
                on_progress: Progress | None = None) -> np.ndarray:
    """A [width, 2] float32 layout of the decoder directions (rows of W_dec) by `method`."""
    params = params or MapParams()
    check_params(method, int(decoder.shape[0]), params)
    directions = unit_directions(decoder)
    if method == "pca":
        return pca_layout(directions)
    if method == "umap":
        return umap_layout(directions, params)
    return tsne_layout(directions, params, on_progress)

