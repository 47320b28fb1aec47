"""Sparse training arithmetic: gradients that cost what the active latents cost, not what the width costs.

Only a few latents per token are active, so after the one dense product (the encoder's pre-activations, which
every rule needs to choose its latents) every other product of a step works on the chosen (token, latent) entries:
- decoding is a weighted sum of k decoder rows per token (`embedding_bag`), never a [tokens × width] product;
- the gradient of a chosen value is the dot product of that token's output gradient with one decoder row
  (sampled dense-dense product, `torch.sparse.sampled_addmm`);
- the decoder's and the encoder's weight gradients are sparse-times-dense products over the chosen entries
  (each latent's weighted sum of its tokens' rows, `embedding_bag` over the entries grouped by latent: one sort per
  step, shared by both).
Nothing materialises a [tokens, k, d] tensor, and the encoder's input needs no gradient (it is data).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from mistudio.lens.threads import one_thread

# CSR support in torch is marked beta and warns once per process; the operations used here are the stable ones.
_CSR_WARNING = "Sparse CSR tensor support is in beta state"


def _csr(crow: torch.Tensor, columns: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CSR_WARNING)
        warnings.filterwarnings("ignore", message="Sparse invariant checks")
        return torch.sparse_csr_tensor(crow, columns, values, shape, check_invariants=False)


def _index_dtype(count: int) -> torch.dtype:
    # int32 indices: the sparse kernels (MKL on the CPU) take them as they are, int64 ones are converted on every call
    return torch.int32 if count < 2**31 else torch.int64


@dataclass
class Pattern:
    """Which latents are active for each token: row n's latents are `indices[crow[n]:crow[n + 1]]`.

    The transposed order (the same entries grouped by latent) is built on first use and kept, since the decoder's
    and the encoder's weight gradients both need it.
    """

    crow: torch.Tensor  # [tokens + 1], int32 (int64 past 2**31 entries)
    indices: torch.Tensor  # [nnz], same dtype, the latent of each entry
    width: int
    _by_latent: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = field(default=None, repr=False)

    @property
    def tokens(self) -> int:
        return self.crow.numel() - 1

    @property
    def nnz(self) -> int:
        return self.indices.numel()

    @classmethod
    def fixed(cls, indices: torch.Tensor, width: int) -> Pattern:
        """k latents per token: `indices` is [tokens, k]."""
        tokens, k = indices.shape
        dtype = _index_dtype(tokens * k)
        crow = torch.arange(0, tokens * k + 1, k, device=indices.device, dtype=dtype)
        return cls(crow, indices.reshape(-1).to(dtype), width)

    @classmethod
    def from_mask(cls, mask: torch.Tensor) -> Pattern:
        """The entries where a [tokens, width] bool mask is set."""
        rows, columns = mask.nonzero(as_tuple=True)
        return cls.from_rows(rows, columns, mask.shape[0], mask.shape[1])

    @classmethod
    def from_rows(cls, rows: torch.Tensor, columns: torch.Tensor, tokens: int, width: int) -> Pattern:
        """Entries given as (row, latent) pairs sorted by row."""
        dtype = _index_dtype(columns.numel())
        crow = torch.zeros(tokens + 1, dtype=dtype, device=rows.device)
        crow[1:] = torch.bincount(rows, minlength=tokens).cumsum(0)
        return cls(crow, columns.to(dtype), width)

    def rows(self) -> torch.Tensor:
        counts = (self.crow[1:] - self.crow[:-1]).long()
        return torch.repeat_interleave(torch.arange(self.tokens, device=self.crow.device), counts)

    def matrix(self, values: torch.Tensor) -> torch.Tensor:
        """[tokens, width] CSR with these values at the pattern's entries."""
        return _csr(self.crow, self.indices, values, (self.tokens, self.width))

    def _latent_order(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The entries grouped by latent: (their order, [width + 1] offsets, each one's token)."""
        if self._by_latent is None:
            order = _argsort_stable(self.indices, self.width)
            crow = torch.zeros(self.width + 1, dtype=self.crow.dtype, device=self.indices.device)
            crow[1:] = torch.bincount(self.indices, minlength=self.width).cumsum(0)
            self._by_latent = (order, crow, self.rows()[order].to(self.crow.dtype))
        return self._by_latent

    def transposed_times(self, values: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        """The pattern transposed ([width, tokens], these values) times `dense`: [width, d], each latent's sum of
        value × its tokens' rows of `dense`, as a weighted `embedding_bag` over the entries grouped by latent. Each bag
        is summed in entry order as a CSR product sums a row (equal bits here), and it gains more from a second thread
        than MKL's CSR product (6.2 vs 7.2 ms for 131k entries × 576 on 2 cores; 13.3 ms both on one)."""
        with one_thread(values.device):  # the sort and the gather: small index work (lens.threads)
            order, crow, rows = self._latent_order()
            weights = values[order]
        return F.embedding_bag(rows, dense.contiguous(), crow[:-1], mode="sum", per_sample_weights=weights)

    def counts(self) -> torch.Tensor:
        """How many tokens each latent is active on: [width]."""
        return torch.bincount(self.indices, minlength=self.width)


def _argsort_stable(values: torch.Tensor, bound: int) -> torch.Tensor:
    """Stable argsort of integers in [0, bound), which runs every step. Below 2**16 the ids go to numpy as uint16,
    which it sorts by radix on one thread: 1.0 ms for 131k ids of 4608, 7.5 ms as int32 (a merge sort); torch's sort
    took 1.45 ms on one thread and tens of ms on 2 threads with a busy core (its parallel sort waits for the second
    thread). A stable sort's order is unique: the dtype does not change it."""
    if values.device.type == "cpu":
        import numpy as np

        array = values.numpy()
        if bound <= 2**16:
            array = array.astype(np.uint16)
        return torch.from_numpy(np.argsort(array, kind="stable"))
    return torch.argsort(values, stable=True)


class _Decode(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values: torch.Tensor, W_dec: torch.Tensor, pattern: Pattern) -> torch.Tensor:  # noqa: N803
        ctx.save_for_backward(values, W_dec)
        ctx.pattern = pattern
        return F.embedding_bag(pattern.indices, W_dec, pattern.crow[:-1], mode="sum", per_sample_weights=values)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        values, W_dec = ctx.saved_tensors  # noqa: N806
        pattern: Pattern = ctx.pattern
        grad = grad.contiguous()
        grad_values = grad_weight = None
        if ctx.needs_input_grad[0]:
            with one_thread(values.device):
                zeros = pattern.matrix(torch.zeros_like(values))
            sampled = torch.sparse.sampled_addmm(zeros, grad, W_dec.t(), beta=0.0)
            grad_values = sampled.values()
        if ctx.needs_input_grad[1]:
            grad_weight = pattern.transposed_times(values, grad)
        return grad_values, grad_weight, None


def sparse_decode(values: torch.Tensor, W_dec: torch.Tensor, pattern: Pattern) -> torch.Tensor:  # noqa: N803
    """Σ over a token's active latents of value × decoder row: [tokens, d_out] (no bias)."""
    return _Decode.apply(values, W_dec, pattern)


class _Selected(torch.autograd.Function):
    """Pre-activations at the pattern's entries as a function of the encoder: (x − b_dec)·W_enc[:, j] + b_enc[j].

    Forward takes them already computed (the dense product that chose them); backward sends their gradient to
    W_enc, b_enc and (when the input had b_dec taken off) b_dec, through the pattern only.
    """

    @staticmethod
    def forward(ctx, chosen: torch.Tensor, x: torch.Tensor, W_enc: torch.Tensor, b_enc: torch.Tensor,  # noqa: N803
                b_dec: torch.Tensor | None, pattern: Pattern) -> torch.Tensor:
        ctx.save_for_backward(x, W_enc, b_dec)
        ctx.pattern = pattern
        ctx.has_b_dec = b_dec is not None
        with one_thread(chosen.device):
            return chosen.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        x, W_enc, b_dec = ctx.saved_tensors  # noqa: N806
        pattern: Pattern = ctx.pattern
        grad_w = grad_b = grad_b_dec = None
        if ctx.needs_input_grad[3] or ctx.has_b_dec:
            with one_thread(grad.device):  # one add per entry into [width]: small
                grad_b = torch.zeros(pattern.width, dtype=grad.dtype, device=grad.device).index_add_(
                    0, pattern.indices, grad)
        if ctx.needs_input_grad[2]:
            # d pre / d W_enc is the encoder's input x − b_dec ([tokens, d]: cheaper to form than a [d, width]
            # outer-product correction afterwards)
            encoder_input = x - b_dec if ctx.has_b_dec else x
            by_latent = pattern.transposed_times(grad, encoder_input)
            with one_thread(grad.device):  # a transposing copy gains nothing from a second thread
                grad_w = by_latent.t().contiguous()
        if ctx.has_b_dec and ctx.needs_input_grad[4]:
            grad_b_dec = -(W_enc @ grad_b)
        return None, None, grad_w, grad_b if ctx.needs_input_grad[3] else None, grad_b_dec, None


def selected_preactivations(chosen: torch.Tensor, x: torch.Tensor, W_enc: torch.Tensor, b_enc: torch.Tensor,  # noqa: N803
                            b_dec: torch.Tensor | None, pattern: Pattern) -> torch.Tensor:
    """The chosen pre-activation values [nnz], differentiable in the encoder's parameters (see _Selected)."""
    return _Selected.apply(chosen, x, W_enc, b_enc, b_dec, pattern)


def gather(dense: torch.Tensor, pattern: Pattern) -> torch.Tensor:
    """The values of a [tokens, width] tensor at the pattern's entries, in the pattern's order."""
    return dense.reshape(-1)[pattern.rows() * pattern.width + pattern.indices.long()]


def topk_pattern(pre: torch.Tensor, k: int) -> tuple[Pattern, torch.Tensor]:
    """The k largest pre-activations of each token: (pattern, their values)."""
    values, indices = pre.topk(k, dim=1, sorted=False)
    return Pattern.fixed(indices, pre.shape[1]), values.reshape(-1)


def batch_topk_pattern(pre: torch.Tensor, k: int) -> tuple[Pattern, torch.Tensor]:
    """The k × tokens largest pre-activations of the whole batch (a token may have more or fewer than k).

    Exact, without sorting the whole [tokens × width] matrix: each token's top 4k are the candidates; only if some
    token has all its candidates above the batch's threshold (it might have more) is the full matrix scanned.
    """
    tokens, width = pre.shape
    total = k * tokens
    per_row = min(width, 4 * k)
    candidates, columns = pre.topk(per_row, dim=1, sorted=False)
    threshold = candidates.reshape(-1).topk(total, sorted=False).values.min()
    if per_row < width and bool((candidates.min(dim=1).values >= threshold).any()):
        threshold = pre.reshape(-1).topk(total, sorted=False).values.min()
        pattern = Pattern.from_mask(pre >= threshold)
        return pattern, gather(pre, pattern)
    mask = candidates >= threshold
    rows, slots = mask.nonzero(as_tuple=True)
    pattern = Pattern.from_rows(rows, columns[rows, slots], tokens, width)
    return pattern, candidates[rows, slots]
