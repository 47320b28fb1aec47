"""An analysis in Neuronpedia's import layout, so a user can upload it: features, activations and explanations as
gzipped JSON lines, in a zip.

Layout and field names are Neuronpedia's own (github.com/hijohnnylin/neuronpedia): the import route
`apps/webapp/app/api/admin/import/route.ts` reads `{path}/model.jsonl`, `sourceset.jsonl`, `source.jsonl`, then every
`features/*.jsonl.gz` into table `Neuron`, `activations/*.jsonl.gz` into `Activation` and `explanations/*.jsonl.gz`
into `Explanation`; `apps/webapp/lib/db/import.ts` inserts each line's keys as those tables' columns
(`apps/webapp/prisma/schema.prisma`), and `utils/neuronpedia-utils/neuronpedia_utils/db_models/{feature,activation,
explanation,model,source,source_set}.py` plus `convert-saedashboard-to-neuronpedia-export.py` write the same
layout: `{modelId}/{layer}-{sourceSet}/…/batch-0.jsonl.gz`, where the source id (`layer` in every row) is the layer
number, a dash and the source set's name.

What maps to what: `frac_nonzero` is our firing frequency; `maxActApprox` our exact max activation; `pos_*`/`neg_*`
the logit lens (promoted / suppressed tokens, their logit change); `topkCosSim*` the decoder-cosine neighbours;
`correlated_features_*` our Pearson correlations; `freq_hist_data_bar_*` our activation histogram (bars at the
geometric centre of each log10 bin). Activations are the top and interval example windows (`binMin`/`binMax`:
the equal-width interval an interval example was drawn from); explanations are the labels. The decoder vectors
are not exported (`hasVector` false): Neuronpedia's steering needs its own inference host for the model anyway.
`creatorId`/`authorId` must be a Neuronpedia user id when uploading (the import checks it): pass yours.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mistudio.features import service
from mistudio.features.export import feature_rows
from mistudio.features.store import read_token_texts
from mistudio.platform.db import session_scope
from mistudio.platform.runtime import Runtime

DEFAULT_CREATOR_ID = "mistudio"  # a placeholder: Neuronpedia's import needs the uploader's own user id
_HOOK_KINDS = {"resid_pre": "res-pre", "resid_post": "res", "mlp_out": "mlp", "attn_out": "att"}
_BATCH = 4_096
_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-") or "model"


def source_id(hook_point: str | None, width: int, source_set: str | None) -> tuple[str, str]:
    """(source id, source set name): Neuronpedia's `{layer}-{set}`, e.g. `1-mistudio-res-48` for blocks.1.resid_post."""
    found = re.fullmatch(r"blocks\.(\d+)\.(\w+)", hook_point or "")
    layer = found.group(1) if found else "0"
    kind = _HOOK_KINDS.get(found.group(2), _slug(found.group(2))) if found else "sae"
    name = source_set or f"mistudio-{kind}-{width}"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        from mistudio.errors import InvalidInput

        raise InvalidInput(f"source_set must be lower-case letters, digits and dashes (Neuronpedia's ids); got "
                           f"{name!r}", details={"field": "source_set"})
    return f"{layer}-{name}", name


def _write_jsonl_gz(path: Path, lines: Iterator[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=5) as file:
        for line in lines:
            file.write(json.dumps(line, ensure_ascii=False, allow_nan=False) + "\n")
            count += 1
    return count


def _finite(values: Any) -> list[float]:
    """JSON has no NaN or infinity (and Postgres float arrays reject them): such a value is written as 0."""
    return [float(v) if np.isfinite(v) else 0.0 for v in np.asarray(values, dtype=np.float64).tolist()]


def _features(rows: Iterator[dict[str, Any]], arrays: dict[str, np.ndarray], texts: dict[int, str],
              ids: dict[str, Any]) -> Iterator[dict[str, Any]]:
    edges = arrays["summary.histogram_edges"].astype(np.float64)
    centres = _finite(10 ** ((edges[:-1] + edges[1:]) / 2))

    def related(prefix: str, latent: int) -> tuple[list[int], list[float]]:
        if f"{prefix}.indices" not in arrays:
            return [], []
        indices, values = arrays[f"{prefix}.indices"][latent], arrays[f"{prefix}.values"][latent]
        keep = indices >= 0
        return indices[keep].astype(int).tolist(), _finite(values[keep])

    def lens(kind: str, latent: int) -> tuple[list[str], list[float]]:
        if f"logit_lens.{kind}_tokens" not in arrays:
            return [], []
        tokens = arrays[f"logit_lens.{kind}_tokens"][latent].tolist()
        return [texts.get(int(t), "") for t in tokens], _finite(arrays[f"logit_lens.{kind}_logits"][latent])

    for row in rows:
        latent = row["latent"]
        neighbours, correlations = related("neighbours", latent), related("correlations", latent)
        (pos_str, pos_values), (neg_str, neg_values) = lens("promoted", latent), lens("suppressed", latent)
        yield {**ids, "index": str(latent),
               "maxActApprox": _finite([row["max_activation"]])[0], "frac_nonzero": row["frequency"],
               "hasVector": False, "topkCosSimIndices": neighbours[0], "topkCosSimValues": neighbours[1],
               "correlated_features_indices": correlations[0], "correlated_features_pearson": correlations[1],
               "pos_str": pos_str, "pos_values": pos_values, "neg_str": neg_str, "neg_values": neg_values,
               "freq_hist_data_bar_heights": _finite(arrays["summary.histogram"][latent]),
               "freq_hist_data_bar_values": centres}


def _activations(folder: Path, texts: dict[int, str], max_activation: np.ndarray, intervals: int,
                 first_sequence: int, ids: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One line per example window, the positions outside the sequence (token -1) left out."""
    import pyarrow.parquet as pq

    from mistudio.lens.features.result import EXAMPLE_KINDS

    interval_kind = EXAMPLE_KINDS.index("interval")
    for batch in pq.ParquetFile(folder / "examples.parquet").iter_batches(batch_size=_BATCH):
        for example in batch.to_pylist():
            kept = [(token, value) for token, value in zip(example["tokens"], example["activations"], strict=True)
                    if token >= 0]
            values = _finite([value for _, value in kept])
            latent, line = example["latent"], {}
            if example["kind"] == interval_kind:  # equal-width: interval j is (j·max/n, (j+1)·max/n]
                top = float(max_activation[latent])
                line = {"binMin": top * example["interval"] / intervals,
                        "binMax": top * (example["interval"] + 1) / intervals}
            yield {**{k: v for k, v in ids.items() if k != "sourceSetName"}, "id": uuid.uuid4().hex,
                   "index": str(latent), "tokens": [texts.get(token, "") for token, _ in kept], "values": values,
                   "maxValue": max(values), "maxValueTokenIndex": int(np.argmax(values)), "minValue": min(values),
                   "dataIndex": str(first_sequence + example["sequence"]), **line}


def _explanations(rows: Iterator[dict[str, Any]], ids: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for row in rows:
        if row["label"]:
            score = "" if row["label_score"] is None else f", score {row['label_score']:.3f}"
            yield {"id": uuid.uuid4().hex, "modelId": ids["modelId"], "layer": ids["layer"],
                   "index": str(row["latent"]), "description": row["label"], "authorId": ids["creatorId"],
                   "notes": f"miStudio {row['label_kind'] or 'unknown'} label{score}", "createdAt": ids["createdAt"]}


def write_neuronpedia(runtime: Runtime, analysis_id: str, root: Path, *, model_id: str | None = None,
                      source_set: str | None = None, creator_id: str = DEFAULT_CREATOR_ID) -> dict[str, Any]:
    """Write the layout under `root`/{modelId}/{sourceId}/; returns the ids used and the lines per file.

    `model_id`: Neuronpedia's id of the model (default: the model's name as a slug); `source_set`: the source set
    name without the layer (default `mistudio-{res|mlp|att}-{width}`); `creator_id`: your Neuronpedia user id."""
    from safetensors.numpy import load_file

    feature_rows(runtime, analysis_id)  # 404 / 409 before anything is written; each file below reads the rows anew
    with session_scope(runtime.sessions) as session:
        analysis = service.load_row(session, analysis_id)
        model_name, width, first_sequence = analysis.model_name, analysis.width, analysis.first_sequence
    store = runtime.storage.features_dir(analysis_id)
    meta = json.loads((store / "features.json").read_text())
    np_model = _slug(model_id) if model_id else _slug(model_name)
    source, set_name = source_id(meta.get("hook_point"), width, source_set)
    now = dt.datetime.now(dt.UTC).isoformat()
    ids = {"modelId": np_model, "layer": source, "creatorId": creator_id, "createdAt": now, "sourceSetName": set_name}
    arrays, texts = load_file(str(store / "latents.safetensors")), read_token_texts(store)
    out = Path(root) / np_model / source
    counts = {
        "model.jsonl": _write_plain(out / "model.jsonl", {"id": np_model, "instruct": False, "creatorId": creator_id,
                                                          "displayName": model_name, "displayNameShort": model_name,
                                                          "visibility": "PRIVATE", "createdAt": now,
                                                          "updatedAt": now}),
        "sourceset.jsonl": _write_plain(out / "sourceset.jsonl", {
            "modelId": np_model, "name": set_name, "creatorId": creator_id, "creatorName": creator_id,
            "description": f"miStudio SAE at {meta.get('hook_point')} ({width} latents)", "visibility": "PRIVATE",
            "createdAt": now}),
        "source.jsonl": _write_plain(out / "source.jsonl", {
            "id": source, "modelId": np_model, "setName": set_name, "creatorId": creator_id, "visibility": "PRIVATE",
            "num_prompts": meta["sequences"], "num_tokens_in_prompt": meta["seq_len"], "createdAt": now}),
        "features/batch-0.jsonl.gz": _write_jsonl_gz(out / "features" / "batch-0.jsonl.gz",
                                                     _features(feature_rows(runtime, analysis_id), arrays,
                                                               texts, ids)),
        "activations/batch-0.jsonl.gz": _write_jsonl_gz(
            out / "activations" / "batch-0.jsonl.gz",
            _activations(store, texts, arrays["summary.max_activation"], int(meta["config"]["intervals"]),
                         first_sequence, ids)),
        "explanations/batch-0.jsonl.gz": _write_jsonl_gz(out / "explanations" / "batch-0.jsonl.gz",
                                                         _explanations(feature_rows(runtime, analysis_id), ids)),
    }
    return {"model_id": np_model, "source_id": source, "source_set": set_name, "lines": counts}


def _write_plain(path: Path, line: dict[str, Any]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1


def write_neuronpedia_zip(runtime: Runtime, analysis_id: str, path: Path, **options: Any) -> Path:
    """The layout zipped at `path` (its members already gzipped, so stored as they are)."""
    staging = Path(tempfile.mkdtemp(prefix="neuronpedia-", dir=path.parent))
    try:
        write_neuronpedia(runtime, analysis_id, staging, **options)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for file in sorted(staging.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(staging).as_posix())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path
