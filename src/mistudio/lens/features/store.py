"""Feature results on disk, compactly: per-latent arrays in safetensors, examples and the rest as Parquet columns.

    folder/features.json        what the analysis was (config, sizes, token count) and which files exist — small
    folder/latents.safetensors  summary.*, correlations.*, logit_lens.*, neighbours.*: [width, …] arrays
    folder/examples.parquet     one row per example window, sorted by latent (row-group statistics let a reader
                                fetch one latent's rows without reading the rest: `read_examples`)
    folder/ablation.parquet     one row per ablated example (optional)
    folder/labels.parquet       latent, text, kind, method, the peak tokens and their shares (optional)

`features.json` is written last, so a folder without it is an interrupted save, never a half-read result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from safetensors.numpy import load_file, save_file

from mistudio.lens.errors import InvalidArgument, NotFound
from mistudio.lens.features.ablation import AblationEffects
from mistudio.lens.features.config import AnalysisConfig
from mistudio.lens.features.labels import AutomaticLabel
from mistudio.lens.features.logit_lens import LogitLens
from mistudio.lens.features.neighbours import Neighbours
from mistudio.lens.features.result import Examples, FeatureAnalysisResult, LatentSummary

FORMAT_VERSION = 1
_SUMMARY = ("active_count", "frequency", "max_activation", "mean_activation", "mean_when_active", "histogram",
            "histogram_edges")
_LENS = ("promoted_tokens", "promoted_logits", "suppressed_tokens", "suppressed_logits")
_ROW_GROUP = 16_384


@dataclass
class SavedFeatures:
    """What `load_features` read back; the optional parts are None when they were not saved."""

    analysis: FeatureAnalysisResult
    logit_lens: LogitLens | None = None
    neighbours: Neighbours | None = None
    ablation: AblationEffects | None = None
    labels: list[AutomaticLabel] | None = None


def _window_column(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    flat = pa.array(np.ascontiguousarray(values).reshape(-1), type=kind)
    return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])


def _window_array(column: pa.ChunkedArray, dtype: Any, width: int) -> np.ndarray:
    flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return flat.astype(dtype, copy=False).reshape(-1, width)


def _examples_table(examples: Examples) -> pa.Table:
    columns = {name: pa.array(getattr(examples, name)) for name in
               ("latent", "kind", "rank", "interval", "activation", "sequence", "position")}
    columns["tokens"] = _window_column(examples.tokens.astype(np.int32), pa.int32())
    columns["activations"] = _window_column(examples.activations.astype(np.float32), pa.float32())
    return pa.table(columns)


def _examples_from_table(table: pa.Table, window: int) -> Examples:
    plain = {name: table.column(name).to_numpy() for name in
             ("latent", "kind", "rank", "interval", "activation", "sequence", "position")}
    return Examples(**plain, tokens=_window_array(table.column("tokens"), np.int64, window),
                    activations=_window_array(table.column("activations"), np.float32, window))


def save_features(folder: Any, analysis: FeatureAnalysisResult, *, logit_lens: LogitLens | None = None,
                  neighbours: Neighbours | None = None, ablation: AblationEffects | None = None,
                  labels: list[AutomaticLabel] | None = None) -> Path:
    """Write an analysis and whatever else was computed for it into `folder` (created); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "features.json").unlink(missing_ok=True)  # the marker of a complete save goes first and comes last
    arrays = {f"summary.{name}": np.ascontiguousarray(getattr(analysis.summary, name)) for name in _SUMMARY}
    parts = {"correlations": analysis.correlations, "neighbours": neighbours}
    for prefix, found in parts.items():
        if found is not None:
            arrays[f"{prefix}.indices"] = found.indices.cpu().numpy()
            arrays[f"{prefix}.values"] = found.cosine.cpu().numpy()
    if logit_lens is not None:
        arrays.update({f"logit_lens.{name}": getattr(logit_lens, name).cpu().numpy() for name in _LENS})
    save_file(arrays, str(folder / "latents.safetensors"))
    pq.write_table(_examples_table(analysis.examples), folder / "examples.parquet", row_group_size=_ROW_GROUP)
    files = ["latents.safetensors", "examples.parquet"]
    if ablation is not None:
        table = pa.table({"latent": ablation.latent, "sequence": ablation.sequence, "position": ablation.position,
                          "loss": _window_column(ablation.loss.astype(np.float32), pa.float32()),
                          "delta_loss": _window_column(ablation.delta_loss.astype(np.float32), pa.float32())})
        pq.write_table(table, folder / "ablation.parquet")
        files.append("ablation.parquet")
    if labels is not None:
        table = pa.table({"latent": [label.latent for label in labels], "text": [label.text for label in labels],
                          "kind": [label.kind for label in labels], "method": [label.method for label in labels],
                          "peak_tokens": [[token for token, _ in label.peak_tokens] for label in labels],
                          "peak_shares": [[share for _, share in label.peak_tokens] for label in labels]})
        pq.write_table(table, folder / "labels.parquet")
        files.append("labels.parquet")
    meta = {"format_version": FORMAT_VERSION, "config": analysis.config.to_dict(), "width": analysis.width,
            "hook_point": analysis.hook_point, "sequences": analysis.sequences, "seq_len": analysis.seq_len,
            "tokens": analysis.summary.tokens, "interval_kind": analysis.interval_kind,
            "ablation_context": ablation.context if ablation is not None else None,
            "metadata": analysis.metadata, "files": files}
    (folder / "features.json").write_text(json.dumps(meta, indent=1))
    return folder


def _meta(folder: Path) -> dict[str, Any]:
    path = folder / "features.json"
    if not path.is_file():
        raise NotFound(f"no saved features in {folder} (features.json is missing: never saved, or the save was "
                       "interrupted)", details={"path": str(folder)})
    meta = json.loads(path.read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise InvalidArgument(f"{folder} holds features in format {meta.get('format_version')}; this version reads "
                              f"format {FORMAT_VERSION}", details={"path": str(folder)})
    return meta


def _neighbours(arrays: dict[str, np.ndarray], prefix: str) -> Neighbours | None:
    if f"{prefix}.indices" not in arrays:
        return None
    return Neighbours(torch.from_numpy(arrays[f"{prefix}.indices"]), torch.from_numpy(arrays[f"{prefix}.values"]))


def load_features(folder: Any) -> SavedFeatures:
    """Everything `save_features` wrote into `folder`."""
    folder = Path(folder)
    meta = _meta(folder)
    config = AnalysisConfig.from_dict(meta["config"])
    arrays = load_file(str(folder / "latents.safetensors"))
    summary = LatentSummary(tokens=meta["tokens"], **{name: arrays[f"summary.{name}"] for name in _SUMMARY})
    examples = _examples_from_table(pq.read_table(folder / "examples.parquet"), config.window)
    analysis = FeatureAnalysisResult(config, meta["width"], meta["hook_point"], meta["sequences"], meta["seq_len"],
                                     summary, examples, _neighbours(arrays, "correlations"), meta["interval_kind"],
                                     meta["metadata"])
    lens = LogitLens(*(torch.from_numpy(arrays[f"logit_lens.{name}"]) for name in _LENS)) \
        if "logit_lens.promoted_tokens" in arrays else None
    saved = SavedFeatures(analysis, lens, _neighbours(arrays, "neighbours"))
    if "ablation.parquet" in meta["files"]:
        table = pq.read_table(folder / "ablation.parquet")
        window = 2 * meta["ablation_context"] + 1
        saved.ablation = AblationEffects(
            table.column("latent").to_numpy(), table.column("sequence").to_numpy(),
            table.column("position").to_numpy(), _window_array(table.column("loss"), np.float32, window),
            _window_array(table.column("delta_loss"), np.float32, window), meta["ablation_context"])
    if "labels.parquet" in meta["files"]:
        rows = pq.read_table(folder / "labels.parquet").to_pylist()
        saved.labels = [AutomaticLabel(row["latent"], row["text"], row["kind"], row["method"],
                                       tuple(zip(row["peak_tokens"], row["peak_shares"], strict=True)))
                        for row in rows]
    return saved


def read_examples(folder: Any, latent: int) -> Examples:
    """One latent's examples, reading only the Parquet row groups whose latent range holds it."""
    folder = Path(folder)
    meta = _meta(folder)
    if not 0 <= latent < meta["width"]:
        raise InvalidArgument(f"latent {latent} is out of range: the SAE has {meta['width']} latents",
                              details={"field": "latent"})
    table = pq.read_table(folder / "examples.parquet", filters=[("latent", "=", latent)])
    return _examples_from_table(table, AnalysisConfig.from_dict(meta["config"]).window)
