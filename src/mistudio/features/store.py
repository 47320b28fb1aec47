"""The domain's side of a stored analysis: the `features` rows and token index written from a lens result, the
decoded token texts beside the lens store, and reading one latent's arrays without loading the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert

from mistudio.features.tables import Feature, FeatureToken
from mistudio.lens.token_text import TokenTexts
from mistudio.platform.db import session_scope

TOKEN_TEXTS = "tokens.json"
_INSERT_CHUNK = 5_000
_TOKEN_CHARS = 64  # FeatureToken.token's length


def fold(text: str) -> str:
    """A token's text as the token search compares it: stripped and lower-cased (as the automatic labels fold)."""
    return text.strip().lower()[:_TOKEN_CHARS]


def write_token_texts(folder: Path, tokenizer: Any, result: Any, lens: Any) -> None:
    """tokens.json: the text of every token id the store mentions (examples and logit lens)."""
    import numpy as np

    ids = [result.examples.tokens.reshape(-1)]
    if lens is not None:
        ids += [lens.promoted_tokens.cpu().numpy().reshape(-1), lens.suppressed_tokens.cpu().numpy().reshape(-1)]
    unique = np.unique(np.concatenate(ids)) if ids else np.zeros(0, dtype=np.int64)
    text = TokenTexts(tokenizer)
    tokens = [int(token) for token in unique if token >= 0]
    (folder / TOKEN_TEXTS).write_text(json.dumps({"ids": tokens, "texts": [text(token) for token in tokens]}))


def read_token_texts(folder: Path) -> dict[int, str]:
    found = json.loads((folder / TOKEN_TEXTS).read_text())
    return dict(zip(found["ids"], found["texts"], strict=True))


def _token_rows(analysis_id: str, result: Any, lens: Any, text: TokenTexts) -> list[dict[str, Any]]:
    """(latent, folded token) pairs: the peak token of each top example, and each promoted logit-lens token."""
    from mistudio.lens.features.result import EXAMPLE_KINDS

    examples = result.examples
    top = examples.kind == EXAMPLE_KINDS.index("top")
    context = result.config.context
    pairs: set[tuple[int, str, str]] = set()
    for latent, token in zip(examples.latent[top].tolist(), examples.tokens[top, context].tolist(), strict=True):
        if token >= 0 and fold(text(token)):
            pairs.add((latent, fold(text(token)), "peak"))
    if lens is not None:
        for latent, tokens in enumerate(lens.promoted_tokens.cpu().tolist()):
            pairs.update((latent, fold(text(token)), "logit") for token in tokens if fold(text(token)))
    return [{"analysis_id": analysis_id, "latent": latent, "token": token, "source": source}
            for latent, token, source in sorted(pairs)]


def fill_tables(sessions: Any, analysis_id: str, result: Any, labels: Any, lens: Any, tokenizer: Any) -> None:
    """One `features` row per latent and the token index, replacing any rows of an interrupted earlier fill."""
    summary = result.summary
    label_of = {label.latent: label for label in labels or []}
    rows = [{"analysis_id": analysis_id, "latent": latent, "frequency": float(summary.frequency[latent]),
             "max_activation": float(summary.max_activation[latent]),
             "mean_activation": float(summary.mean_activation[latent]), "dead": bool(summary.dead[latent]),
             "label": label_of[latent].text if latent in label_of else None,
             "label_kind": label_of[latent].kind if latent in label_of else None, "label_score": None,
             "favourite": False, "notes": None}
            for latent in range(result.width)]
    tokens = _token_rows(analysis_id, result, lens, TokenTexts(tokenizer))
    with session_scope(sessions) as session:
        session.execute(delete(FeatureToken).where(FeatureToken.analysis_id == analysis_id))
        session.execute(delete(Feature).where(Feature.analysis_id == analysis_id))
        for table, values in ((Feature, rows), (FeatureToken, tokens)):
            for start in range(0, len(values), _INSERT_CHUNK):
                session.execute(insert(table), values[start:start + _INSERT_CHUNK])


def latent_arrays(folder: Path, latent: int) -> dict[str, Any]:
    """Row `latent` of every [width, …] array of latents.safetensors (slices: the other latents are not read)."""
    from safetensors import safe_open

    with safe_open(str(folder / "latents.safetensors"), framework="np") as arrays:
        return {name: arrays.get_slice(name)[latent] if name != "summary.histogram_edges"
                else arrays.get_tensor(name) for name in arrays.keys()}  # noqa: SIM118 — safe_open is no dict
