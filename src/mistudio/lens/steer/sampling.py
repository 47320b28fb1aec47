"""Sampling with common random numbers: one uniform draw per step, shared by every row of the batch.

Each step draws u ~ U[0, 1) from a generator seeded with the run's seed, and every row takes the token where u
falls in its own top-p nucleus (tokens by descending probability at the temperature, cumulative). So
- a row's text depends on the seed and its own distributions only, never on which other rows share the batch:
  a baseline and a steered run give the same tokens alone or batched together, and at strength 0 the same text;
- where steering barely moves a distribution, the same u mostly picks the same token: differences between the
  runs come from the steering, not from independent draws.
It plugs into transformers' `generate` as a logits processor under greedy decoding: the scores it returns are 0
for the token drawn and −inf elsewhere, so `generate`'s argmax takes it, and the KV cache, stopping and
streaming stay transformers'. u comes from a CPU generator, so the draw does not depend on the device.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import LogitsProcessor


class CoupledSampler(LogitsProcessor):
    """Temperature + top-p sampling by inverse CDF with one shared uniform per step (see the module docstring)."""

    def __init__(self, temperature: float, top_p: float, seed: int) -> None:
        self.temperature, self.top_p = temperature, top_p
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def choose(self, scores: torch.Tensor, u: float) -> torch.Tensor:
        """The token each row of scores [rows, vocab] takes for the uniform draw u: [rows]."""
        probabilities = torch.softmax(scores.float() / self.temperature, dim=-1)
        # Stable, so tokens of equal probability keep one order in every row and on every run.
        ordered, order = probabilities.sort(dim=-1, descending=True, stable=True)
        before = ordered.cumsum(dim=-1) - ordered
        kept = ordered * (before < self.top_p)  # the nucleus: every token until the mass reaches top_p
        cumulative = kept.cumsum(dim=-1)
        target = u * cumulative[:, -1:]
        index = (cumulative <= target).sum(dim=-1, keepdim=True)
        # Rounding can put the target at the very end of the nucleus: stay on its last token.
        index = torch.minimum(index, (kept > 0).sum(dim=-1, keepdim=True) - 1)
        return order.gather(-1, index).squeeze(-1)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> Any:
        u = float(torch.rand((), generator=self.generator))
        chosen = self.choose(scores, u)
        picked = torch.full_like(scores, -torch.inf)
        return picked.scatter_(-1, chosen[:, None], 0.0)


def sampling_options(temperature: float, top_p: float, seed: int) -> dict[str, Any]:
    """`generate` options: greedy at temperature 0, else greedy over the coupled sampler's choice.

    temperature/top_p/top_k are set to None so the model's own generation config adds no second warper."""
    options: dict[str, Any] = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    if temperature > 0:
        options["logits_processor"] = [CoupledSampler(temperature, top_p, seed)]
    return options
