"""Co-activation: the Pearson correlation of latents over tokens, top-n per latent, without width × width.

corr(i, j) over the N counted tokens needs Σ a_i a_j for the pair, which for every pair would be a width × width
matrix (40 GB at 100k latents in float32). Instead, two passes over the same tokens:
1. `CorrelationSketch` (first pass) streams a random ±1 projection of every latent's column of activations over
   tokens: Z[i] = Σ_t a_t,i · r_t with r_t ∈ {±1}^m a hash of the token's place, so Z is width × m. With the means,
   the centred sketch Z[i] − μ_i Σ_t r_t approximates the centred column's projection, whose cosine estimates the
   correlation with a standard error of about 1/√m (Johnson–Lindenstrauss). Each latent's `candidates` are the
   latents of highest sketched cosine (chunked, as `neighbours`).
2. `CandidatePairSums` (second pass) accumulates Σ a_i a_j exactly for those candidate pairs only, from the
   products of latents active on the same token (sparse: about L0² pairs per token), and `correlations` ranks
   the exact correlations.

Limits: the values reported are exact for the pairs reported, but a pair is only found if the sketch ranks it
among the `candidates` of its latent: with m = 256 rows and 100k latents, noise reaches cosines near 0.25, so
correlations well above that are found reliably and weaker ones may be missed (raise m or the candidates; with
candidates ≥ width − 1 the answer is exact). Memory: width × m floats for the sketch, width × candidates for the
sums; the pair products are processed in chunks of at most `pair_budget`. On a GPU, `index_add_` adds in a
non-deterministic order, so reruns agree to rounding, not bit for bit.
"""

from __future__ import annotations

import torch

from mistudio.lens.features.neighbours import Neighbours, top_cosine
from mistudio.lens.features.selection import mix31
from mistudio.lens.features.stats import ActiveEntries

_WORD_SALT = 0x5BD1E995 & 0x7FFFFFF  # spreads the hash-word index over the hash's input bits
_BITS_PER_WORD = 30


def token_signs(sequence: torch.Tensor, position: torch.Tensor, rows: int, seed: int) -> torch.Tensor:
    """The ±1 projection entries [tokens, rows] of tokens given by (sequence index, position), from a hash.

    Each 31-bit hash gives 30 signs (its bits 0–29), so a token costs rows / 30 hashes, not rows."""
    token = mix31(mix31(sequence + seed * 0x9E3779B) ^ position)
    words = -(-rows // _BITS_PER_WORD)
    salts = mix31(torch.arange(words, device=token.device) * _WORD_SALT)
    hashed = mix31(token[:, None] ^ salts[None, :])
    bits = (hashed[..., None] >> torch.arange(_BITS_PER_WORD, device=token.device)) & 1
    return 1.0 - 2.0 * bits.reshape(token.shape[0], -1)[:, :rows].float()


class CorrelationSketch:
    """First pass: a width × m random projection of each latent's activations over tokens."""

    def __init__(self, width: int, rows: int, seed: int, device: torch.device | str = "cpu") -> None:
        self.rows, self.seed = rows, seed
        self.projection = torch.zeros(width, rows, dtype=torch.float32, device=device)
        self.sign_totals = torch.zeros(rows, dtype=torch.float64, device=device)

    def update(self, active: ActiveEntries, sequence: torch.Tensor, position: torch.Tensor,
               counted: torch.Tensor) -> None:
        """Add a batch: its active entries, each token's sequence index and position, and which tokens count."""
        signs = token_signs(sequence, position, self.rows, self.seed)
        self.sign_totals += signs[counted].double().sum(dim=0)
        # Active entries × m products at a time: bounded however dense the SAE (L0 of 1000 would be 1 GB at once).
        step = max(1, (1 << 24) // self.rows)
        for start in range(0, active.token.numel(), step):
            part = slice(start, start + step)
            self.projection.index_add_(0, active.latent[part], active.value[part, None] * signs[active.token[part]])

    def candidates(self, mean: torch.Tensor, count: int, *, chunk: int | None = None) -> Neighbours:
        """The `count` latents of highest sketched correlation with each latent."""
        centred = self.projection.double() - mean[:, None] * self.sign_totals[None, :]
        return top_cosine(centred.float(), count, chunk=chunk)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"sketch.projection": self.projection, "sketch.sign_totals": self.sign_totals}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        device = self.projection.device
        self.projection = state["sketch.projection"].to(device)
        self.sign_totals = state["sketch.sign_totals"].to(device)


class CandidatePairSums:
    """Second pass: Σ_t a_i a_j over tokens for each latent i and each of its candidates j (`candidates` [width, c])."""

    def __init__(self, candidates: torch.Tensor, *, pair_budget: int = 1 << 22) -> None:
        self.width = candidates.shape[0]
        self.candidates = candidates
        self.pair_budget = pair_budget
        owner = torch.arange(self.width, device=candidates.device)[:, None].expand_as(candidates)
        keys = (owner * self.width + candidates).reshape(-1)
        # Sorted pair keys i·width + j, so a product found on a token is looked up by binary search.
        self.sorted_keys, self.slot_of_key = keys.sort()
        self.sums = torch.zeros(candidates.numel(), dtype=torch.float64, device=candidates.device)

    def update(self, active: ActiveEntries, tokens: int) -> None:
        """Add the products of every two latents active on the same token of a batch of `tokens` tokens."""
        token, latent, values = active.token, active.latent, active.value.double()
        per_token = torch.bincount(token, minlength=tokens)
        pairs_per_token = per_token * per_token
        start = 0
        while start < tokens:
            # A chunk of tokens whose pairs fit the budget (at least one token, however many pairs it has).
            cumulative = pairs_per_token[start:].cumsum(0)
            end = start + max(1, int((cumulative <= self.pair_budget).sum()))
            self._add_pairs(token, latent, values, per_token, start, end)
            start = end

    def _add_pairs(self, token: torch.Tensor, latent: torch.Tensor, values: torch.Tensor, per_token: torch.Tensor,
                   start: int, end: int) -> None:
        first = int(per_token[:start].sum())
        last = first + int(per_token[start:end].sum())
        if last == first:
            return
        chunk_token, chunk_latent, chunk_values = token[first:last], latent[first:last], values[first:last]
        entry_start = torch.cumsum(per_token, 0) - per_token  # where each token's entries begin
        repeats = per_token[chunk_token]
        left = torch.repeat_interleave(torch.arange(last - first, device=token.device), repeats)
        # the k-th partner of entry e is the k-th entry of e's token
        offset = torch.arange(left.numel(), device=token.device) - torch.repeat_interleave(
            torch.cumsum(repeats, 0) - repeats, repeats)
        right = entry_start[chunk_token[left]] + offset - first
        keys = chunk_latent[left] * self.width + chunk_latent[right]
        found = torch.searchsorted(self.sorted_keys, keys).clamp(max=self.sorted_keys.numel() - 1)
        match = self.sorted_keys[found] == keys
        slots = self.slot_of_key[found[match]]
        self.sums.index_add_(0, slots, (chunk_values[left] * chunk_values[right])[match])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"pairs.candidates": self.candidates, "pairs.sums": self.sums}

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], device: torch.device | str) -> CandidatePairSums:
        pairs = cls(state["pairs.candidates"].to(device))
        pairs.sums = state["pairs.sums"].to(device)
        return pairs


def correlations(pairs: CandidatePairSums, mean: torch.Tensor, variance: torch.Tensor, tokens: int,
                 n: int) -> Neighbours:
    """The n candidates of highest exact Pearson correlation per latent; index -1 and NaN where fewer exist (a
    latent that never fired, or one with fewer candidates that ever varied)."""
    candidates = pairs.candidates
    products = pairs.sums.view_as(candidates) / max(tokens, 1)
    partner_mean, partner_variance = mean[candidates], variance[candidates]
    covariance = products - mean[:, None] * partner_mean
    scale = (variance[:, None] * partner_variance).sqrt()
    value = covariance / scale
    value = torch.where(scale > 0, value, torch.full_like(value, float("-inf")))
    best, order = value.topk(n, dim=1)
    indices = candidates.gather(1, order)
    missing = torch.isinf(best)
    return Neighbours(indices.masked_fill(missing, -1), best.float().masked_fill(missing, float("nan")))
