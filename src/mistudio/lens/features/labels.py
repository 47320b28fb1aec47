"""An automatic, offline label for each latent from its top examples (and, if given, its logit lens).

Method "top-tokens-v1": the peak tokens of the latent's top examples, weighted by the peak activation and merged
case- and space-insensitively (a token that is only whitespace is shown by its repr). The label names the token
holding at least half the weight, else up to three holding at least a tenth each ("diffuse: …" when no token holds
a fifth; equal shares in alphabetical order); it adds `after "x"` when one preceding token comes before at least
half of the peaks, and `→ "y", "z"` with the two most promoted tokens of the logit lens. It is a summary of
evidence, not an explanation: `kind` is always "automatic" so it is never mistaken for a label an LLM or a person
wrote.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mistudio.lens.features.logit_lens import LogitLens
from mistudio.lens.features.result import EXAMPLE_KINDS, Examples
from mistudio.lens.token_text import TokenTexts

METHOD = "top-tokens-v1"
MAX_LABEL_CHARS = 200
_TOKEN_CHARS = 24


@dataclass(frozen=True)
class AutomaticLabel:
    """A latent's automatic label; `peak_tokens` is the evidence: (token text, share of the peak weight)."""

    latent: int
    text: str
    kind: str = "automatic"
    method: str = METHOD
    peak_tokens: tuple[tuple[str, float], ...] = field(default=())


def _shown(text: str) -> str:
    """A token's text as a label quotes it: trimmed, by its repr when it is only whitespace, cut short."""
    return (text.strip() or repr(text))[:_TOKEN_CHARS]


def _weighted_shares(tokens: np.ndarray, weights: np.ndarray, text: TokenTexts) -> list[tuple[str, float]]:
    totals: dict[str, float] = defaultdict(float)
    for token, weight in zip(tokens.tolist(), weights.tolist(), strict=True):
        totals[_shown(text(token)).lower()] += weight
    grand = sum(totals.values())
    # Highest share first; equal shares in alphabetical order, so the label does not depend on example order.
    return sorted(((token, weight / grand) for token, weight in totals.items()), key=lambda item: (-item[1], item[0]))


def _describe(shares: list[tuple[str, float]]) -> str:
    if shares[0][1] >= 0.5:
        return f'"{shares[0][0]}"'
    named = [f'"{token}"' for token, share in shares[:3] if share >= 0.1]
    if shares[0][1] < 0.2:
        return "diffuse: " + ", ".join(f'"{token}"' for token, _ in shares[:3])
    return " / ".join(named)


def automatic_label(latent: int, examples: Examples, tokenizer: Any, *, logit_lens: LogitLens | None = None,
                    text: TokenTexts | None = None) -> AutomaticLabel:
    """The automatic label of one latent from its examples (only its "top" rows are used)."""
    text = text or TokenTexts(tokenizer)
    top = examples.select((examples.latent == latent) & (examples.kind == EXAMPLE_KINDS.index("top")))
    if len(top) == 0:
        return AutomaticLabel(latent, "never active in the analysed tokens")
    context = (top.tokens.shape[1] - 1) // 2
    weights = np.maximum(top.activation.astype(np.float64), 1e-12)
    shares = _weighted_shares(top.tokens[:, context], weights, text)
    label = _describe(shares)
    if context > 0:
        before = top.tokens[:, context - 1]
        present = before >= 0
        if present.any():
            counts = _weighted_shares(before[present], np.ones(int(present.sum())), text)
            token, share = counts[0]
            if share * present.sum() >= 0.5 * len(top) and len(top) > 1:
                label += f' after "{token}"'
    if logit_lens is not None:
        promoted = [_shown(text(int(token))) for token in logit_lens.promoted_tokens[latent, :2].tolist()]
        label += " → " + ", ".join(f'"{token}"' for token in promoted)
    return AutomaticLabel(latent, label[:MAX_LABEL_CHARS], peak_tokens=tuple((t, round(s, 4)) for t, s in shares[:5]))


def automatic_labels(examples: Examples, tokenizer: Any, width: int, *,
                     logit_lens: LogitLens | None = None) -> list[AutomaticLabel]:
    """The automatic label of every latent 0 … width − 1 (one pass over the examples, tokens decoded once)."""
    text = TokenTexts(tokenizer)
    top = examples.select(examples.kind == EXAMPLE_KINDS.index("top"))
    order = np.argsort(top.latent, kind="stable")
    bounds = np.searchsorted(top.latent[order], np.arange(width + 1))
    labels = []
    for latent in range(width):
        rows = order[bounds[latent]:bounds[latent + 1]]
        labels.append(automatic_label(latent, top.select(rows), tokenizer, logit_lens=logit_lens, text=text))
    return labels
