"""A feature analysis saved mid-run: every accumulator as tensors in one safetensors file, the rest as its metadata.

No pickle: the file holds only tensors and a JSON string (phase, position, token count, config, what the inputs
were), so loading it cannot run code. It is written to a temporary name and renamed, so a crash while saving leaves
the previous state intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

from mistudio.lens.errors import InvalidArgument, NotFound
from mistudio.lens.features.coactivation import CandidatePairSums
from mistudio.lens.features.config import AnalysisConfig
from mistudio.lens.features.selection import StreamingSelection

if TYPE_CHECKING:
    from mistudio.lens.features.analysis import FeatureAnalysis
    from mistudio.lens.sae.architectures import SparseAutoencoder

STATE_VERSION = 1


def _sae_identity(sae: SparseAutoencoder) -> dict[str, Any]:
    return {"width": sae.width, "d_in": sae.config.d_in, "hook_point": sae.config.hook_point,
            "architecture": sae.config.architecture}


def save_state(analysis: FeatureAnalysis, path: Any) -> None:
    tensors = {**analysis.stats.state_dict(), **analysis.top.state_dict("top")}
    if analysis.sketch is not None:
        tensors.update(analysis.sketch.state_dict())
    for index, selection in enumerate(analysis.samples):
        tensors.update(selection.state_dict(f"samples.{index}"))
    if analysis.pairs is not None:
        tensors.update(analysis.pairs.state_dict())
    meta = {"version": STATE_VERSION, "phase": analysis.phase, "next_sequence": analysis.next_sequence,
            "tokens": analysis.stats.tokens, "config": analysis.config.to_dict(), "sae": _sae_identity(analysis.sae),
            "inputs": analysis.inputs}
    path = Path(path)
    temporary = path.with_name(path.name + ".partial")
    save_file({name: value.detach().contiguous().cpu() for name, value in tensors.items()}, str(temporary),
              metadata={"feature_analysis": json.dumps(meta)})
    os.replace(temporary, path)


def load_state(cls: type[FeatureAnalysis], path: Any, sae: SparseAutoencoder,
               device: torch.device | str | None) -> FeatureAnalysis:
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"no saved feature analysis at {path}", details={"path": str(path)})
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        raw = (handle.metadata() or {}).get("feature_analysis")
    if raw is None:
        raise InvalidArgument(f"{path} is not a saved feature analysis (no feature_analysis metadata)",
                              details={"path": str(path)})
    meta = json.loads(raw)
    if meta.get("version") != STATE_VERSION:
        raise InvalidArgument(f"{path} was saved by another version of the analysis ({meta.get('version')}); "
                              "start the analysis again", details={"path": str(path)})
    if meta["sae"] != _sae_identity(sae):
        raise InvalidArgument(f"{path} is an analysis of another SAE ({meta['sae']}), not of this one "
                              f"({_sae_identity(sae)})", details={"path": str(path)})
    analysis = cls(sae, AnalysisConfig.from_dict(meta["config"]), device=device)
    tensors = load_file(str(path))
    analysis.phase, analysis.next_sequence, analysis.inputs = meta["phase"], meta["next_sequence"], meta["inputs"]
    analysis.stats.load_state_dict(tensors, meta["tokens"])
    analysis.top.load_state_dict(tensors, "top")
    if analysis.phase != "activations":
        analysis.sketch = None  # spent on choosing the candidate pairs when the second pass began
    elif analysis.sketch is not None:
        analysis.sketch.load_state_dict(tensors)
    config, target = analysis.config, analysis.device
    analysis.samples = []
    for index in range(config.intervals if "samples.0.scores" in tensors else 0):
        selection = StreamingSelection(config.per_interval, sae.width, config.window, score_dtype=torch.int64,
                                       device=target)
        selection.load_state_dict(tensors, f"samples.{index}")
        analysis.samples.append(selection)
    if "pairs.candidates" in tensors:
        analysis.pairs = CandidatePairSums.from_state_dict(tensors, target)
    return analysis
