"""The TopK rule's encoder step, exact, at a fraction of the fp32 [tokens × width] product's cost.

Every TopK step needs each token's k largest pre-activations (x − b_dec)·W_enc + b_enc out of `width`. The dense
fp32 product and a `topk` over it were ~2/3 of our step on the CPU. Where the CPU multiplies bf16 in hardware (AMX,
AVX512-BF16: ~1/4 of the fp32 product's time, sums kept in fp32), `encoder_topk`:
1. ranks the latents with the bf16 product (b_enc rides along as the weight of an extra input column of ones, so each
   value is one fp32 sum rounded once) and keeps each token's k + margin best as candidates;
2. computes the candidates again in fp32 (a sampled product: tokens × (k + margin) dot products) and takes the k
   largest of those, with their fp32 values;
3. proves, per token, that no latent left out could belong to the top k: a left-out latent's bf16 value is at most
   τ (the smallest candidate's), so its exact value is at most τ plus the bf16 error bound (input and weight
   rounding through Cauchy–Schwarz on the rounding residuals' norms, the fp32 sum's error, the output's rounding);
   the k chosen values are each at least the k-th fp32 value minus the fp32 sums' error bound. A token where the
   first is not below the second (a near-tie around its k-th value) gets the dense fp32 product and `topk` instead.
   The bound assumes what oneDNN's AMX and AVX512-BF16 kernels do: bf16 × bf16 products summed in fp32, the sum
   rounded once to bf16.
The result is the top k of the fp32 pre-activations (the selection and the values agree with the dense path up to
fp32 rounding: sums in another order can swap two latents whose values differ by ~1e-6). Elsewhere (GPUs, CPUs
without bf16 hardware) the dense fp32 product and the selection run in chunks of tokens, whose products stay in the
cache for their selection. Neither path keeps a [tokens × width] matrix (AuxK computes its dead columns' own).
"""

from __future__ import annotations

from concurrent.futures import wait
from dataclasses import dataclass

import numpy as np
import torch

from mistudio.lens.sae.kernels import Pattern
from mistudio.lens.threads import numpy_rows, one_thread, workers

# Candidates beyond k per token: more make the proof hold for more tokens, and cost a wider `topk` and more dot
# products. 32 is where, on SmolLM2 activations (d 576, width 4608, k 32), under 1 token in 30 needed the fallback.
MARGIN = 32
# Tokens per product in the chunked loops: a [512 × 4608] bf16 block (4.7 MB) is still in the cache for its `topk`
# (the CPU's bf16 products take one chunk per torch thread at a time, which the threads then rank side by side).
CHUNK_TOKENS = 512
# Rows widened to fp32 at a time by a ranking thread: 128 × 4608 × 4 bytes (2.4 MB) stay in its core's cache for the
# partition that reads them (1,024 rows of 4608 ranked in 9.3 ms on one core this way, 19.4 ms 512 rows at a time).
_SELECT_ROWS = 128
# bf16 keeps 8 significant bits: rounding to it moves a value by at most 2**-8 of itself (round to nearest).
_BF16_UNIT = 2.0**-8
_FP32_UNIT = 2.0**-24
# The norms in the bound are fp32 values themselves (off by ~1e-7 of themselves): a generous factor covers that.
_SLACK = 1.01


@dataclass
class TopK:
    """Each token's k largest pre-activations: where (`pattern`), their fp32 values, and how many tokens needed the
    dense fp32 product (all of them when nothing was preselected)."""

    pattern: Pattern
    values: torch.Tensor  # [tokens * k] in the pattern's order
    dense_rows: int


def preselection_available(device: torch.device) -> bool:
    """Whether the bf16 preselection pays and its error bound holds: a CPU multiplying bf16 in hardware. Elsewhere
    bf16 is emulated on the CPU (slower than fp32), and GPUs may reduce bf16 sums in reduced precision."""
    if device.type != "cpu":
        return False
    checks = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    return any(check is not None and check() for check in checks)


def encoder_topk(x: torch.Tensor, W_enc: torch.Tensor, b_enc: torch.Tensor, b_dec: torch.Tensor | None,  # noqa: N803
                 k: int, *, preselect: bool | None = None, margin: int = MARGIN) -> TopK:
    """The k largest of (x − b_dec)·W_enc + b_enc per token (b_dec None: x·W_enc + b_enc), all fp32, no autograd.

    `preselect` None: the bf16 preselection where `preselection_available`; True forces it (tests), False the
    dense product."""
    with torch.no_grad():
        encoder_input = x - b_dec if b_dec is not None else x
        tokens, width = encoder_input.shape[0], W_enc.shape[1]
        if preselect is None:
            preselect = preselection_available(x.device)
        if not preselect or k + margin >= width:
            values, columns = _dense_topk(encoder_input, W_enc, b_enc, k)
            return TopK(Pattern.fixed(columns, width), values.reshape(-1), tokens)
        return _preselected_topk(encoder_input, W_enc, b_enc, k, k + margin)


def _dense_topk(encoder_input: torch.Tensor, W_enc: torch.Tensor, b_enc: torch.Tensor,  # noqa: N803
                k: int) -> tuple[torch.Tensor, torch.Tensor]:
    tokens = encoder_input.shape[0]
    values = encoder_input.new_empty(tokens, k)
    columns = torch.empty(tokens, k, dtype=torch.long, device=encoder_input.device)
    for start in range(0, tokens, CHUNK_TOKENS):
        end = min(start + CHUNK_TOKENS, tokens)
        values[start:end], columns[start:end] = _largest(torch.addmm(b_enc, encoder_input[start:end], W_enc), k)
    return values, columns


def _largest(values: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The `count` largest of each row and their columns, in no order; the row's `count`-th largest first.

    On the CPU numpy's partition (AVX-512 x86-simd-sort where the CPU has it) is ~3× faster than torch's `topk`
    (4 vs 12 ms for 64 of each of 512 × 4608 on one core), which sorts a heap per row; numpy runs on one thread, so
    the rows are split over torch's thread count (`numpy_rows`)."""
    if values.device.type != "cpu":
        top, columns = values.topk(count, dim=1)
        return top.flip(1), columns.flip(1)
    array = values.float().numpy()
    rows, width = array.shape
    top_np, columns_np = np.empty((rows, count), dtype=array.dtype), np.empty((rows, count), dtype=np.int64)

    def work(start: int, end: int) -> None:
        columns = np.argpartition(array[start:end], width - count, axis=1)[:, width - count:]
        columns_np[start:end] = columns
        top_np[start:end] = np.take_along_axis(array[start:end], columns, axis=1)

    numpy_rows(work, rows)
    return torch.from_numpy(top_np), torch.from_numpy(columns_np)


def _rank_bf16(product: torch.Tensor, count: int, candidates: torch.Tensor, threshold: torch.Tensor,
               threads: int | None = None) -> None:
    """Each row's `count` largest of a bf16 [rows, width] product into `candidates` (their columns, in no order)
    and `threshold` (the `count`-th largest), on the CPU: numpy widens bf16 to fp32 exactly (its 16 bits, shifted)
    and partitions, the rows split over torch's thread count."""
    bits = product.view(torch.int16).numpy().view(np.uint16)
    candidates_np, threshold_np = candidates.numpy(), threshold.numpy()
    width = bits.shape[1]

    def work(start: int, end: int) -> None:
        for first in range(start, end, _SELECT_ROWS):
            last = min(first + _SELECT_ROWS, end)
            values = np.left_shift(bits[first:last], 16, dtype=np.uint32).view(np.float32)
            columns = np.argpartition(values, width - count, axis=1)[:, width - count:]
            candidates_np[first:last] = columns
            threshold_np[first:last] = np.take_along_axis(values, columns[:, :1], axis=1)[:, 0]

    numpy_rows(work, bits.shape[0], threads)


def _rank_overlapped(rows_b: torch.Tensor, latents_b: torch.Tensor, count: int, candidates: torch.Tensor,
                     threshold: torch.Tensor) -> None:
    """2 CPU threads: this thread multiplies chunk after chunk on one thread while a numpy thread ranks the chunks
    already multiplied; once the products are done, this thread ranks the chunks the other has not started.

    Both threads stay busy, and no OpenMP team is left spinning at its barrier (libgomp spins for a while after each
    parallel region) on the core a numpy thread needs: after 2-thread products, a batch's ranking on 2 threads took
    52 ms, 38 ms with OMP_WAIT_POLICY=PASSIVE (4096 tokens of the training benchmark's activations, width 4608)."""
    tokens = rows_b.shape[0]
    pool, tasks = workers(1), []
    try:
        with one_thread(rows_b.device):
            for start in range(0, tokens, CHUNK_TOKENS):
                end = min(start + CHUNK_TOKENS, tokens)
                chunk = (rows_b[start:end] @ latents_b.t(), count, candidates[start:end], threshold[start:end], 1)
                tasks.append((pool.submit(_rank_bf16, *chunk), chunk))
        for future, chunk in reversed(tasks):  # the pool takes its tasks in order: the last ones are still queued
            if future.cancel():
                _rank_bf16(*chunk)
    finally:
        wait([future for future, _ in tasks])  # nothing returns while a thread still writes the caller's tensors
    for future, _ in tasks:
        if not future.cancelled():
            future.result()


def _preselected_topk(encoder_input: torch.Tensor, W_enc: torch.Tensor, b_enc: torch.Tensor, k: int,  # noqa: N803
                      per_token: int) -> TopK:
    (tokens, d), width = encoder_input.shape, W_enc.shape[1]
    rows_b = encoder_input.new_empty(tokens, d + 1, dtype=torch.bfloat16)
    rows_b[:, :d], rows_b[:, d] = encoder_input, 1.0
    # [width, d], latent-major: contiguous rows for the sampled product's dot products (it copies a strided W_enc.t()
    # into this layout on every call otherwise) and for the per-latent norms of the bound
    with one_thread(W_enc.device):  # a transposing copy gains nothing from a second thread (2.4 ms on 1 or 2)
        weights = W_enc.t().contiguous()
    # in bf16, each latent's weights then its bias (the weight of the ones)
    latents_b = weights.new_empty(width, d + 1, dtype=torch.bfloat16)
    latents_b[:, :d], latents_b[:, d] = weights, b_enc
    threshold = encoder_input.new_empty(tokens)  # each token's smallest candidate's bf16 value
    candidates = torch.empty(tokens, per_token, dtype=torch.long, device=encoder_input.device)
    if encoder_input.device.type == "cpu" and torch.get_num_threads() == 2:
        _rank_overlapped(rows_b, latents_b, per_token, candidates, threshold)
    elif encoder_input.device.type == "cpu":
        # one product for as many chunks as there are threads (all of them multiply), then each thread ranks a chunk
        # (numpy's partition is single-threaded): no thread idles while another partitions. (With 2 threads the
        # overlap above is faster; with more, one thread's products would be the bottleneck.)
        block = CHUNK_TOKENS * torch.get_num_threads()
        for start in range(0, tokens, block):
            end = min(start + block, tokens)
            _rank_bf16(rows_b[start:end] @ latents_b.t(), per_token, candidates[start:end], threshold[start:end])
    else:
        for start in range(0, tokens, CHUNK_TOKENS):
            end = min(start + CHUNK_TOKENS, tokens)
            ranked, candidates[start:end] = _largest(rows_b[start:end] @ latents_b.t(), per_token)
            threshold[start:end] = ranked[:, 0]
    with one_thread(encoder_input.device):  # index work on tokens × (k + margin) entries: small ops (lens.threads)
        pattern = Pattern.fixed(candidates, width)
        bias = pattern.matrix(b_enc[candidates.reshape(-1)])
    # the candidates in fp32: b_enc at each entry plus its dot product (beta 1 keeps the bias)
    exact = torch.sparse.sampled_addmm(bias, encoder_input, weights.t())
    top_values, slots = _largest(exact.values().view(tokens, per_token), k)
    with one_thread(encoder_input.device):
        columns = candidates.gather(1, slots)
    unproven = _unproven_rows(encoder_input, rows_b, weights, b_enc, latents_b, threshold, top_values)
    if unproven.numel():
        values, dense_columns = _dense_topk(encoder_input[unproven], W_enc, b_enc, k)
        top_values[unproven], columns[unproven] = values, dense_columns
    with one_thread(encoder_input.device):
        return TopK(Pattern.fixed(columns, width), top_values.reshape(-1), int(unproven.numel()))


def _sum_error(terms: int) -> float:
    """γ_n (Higham): an fp32 sum of n products is off by at most γ_n · Σ|product|, in any order of summation."""
    return terms * _FP32_UNIT / (1 - terms * _FP32_UNIT)


def _unproven_rows(encoder_input: torch.Tensor, rows_b: torch.Tensor, weights: torch.Tensor, b_enc: torch.Tensor,
                   latents_b: torch.Tensor, threshold: torch.Tensor, top_values: torch.Tensor) -> torch.Tensor:
    """Tokens for which a left-out latent could, by the error bounds, reach the token's k-th exact value.

    A latent's vector is its weights then its bias ([width, d] `weights` and `b_enc`; `latents_b` [width, d + 1]
    in bf16)."""
    gamma = _sum_error(latents_b.shape[1])
    rows = rows_b.float()
    row_norms = rows.norm(dim=1)
    input_residual = (encoder_input - rows[:, :-1]).norm(dim=1)  # the ones column is exact in bf16
    # each latent's norm and its bf16 rounding's, over weights and bias: hypot of the two parts' norms
    weight_norm = torch.hypot(torch.linalg.vector_norm(weights, dim=1), b_enc).max()
    rounded = latents_b.float()
    weight_residual = torch.hypot(torch.linalg.vector_norm(weights - rounded[:, :-1], dim=1),
                                  b_enc - rounded[:, -1]).max()
    # |x·w − x_b·w_b| ≤ |x_r·w| + |x_b·w_r| ≤ ‖x_r‖‖w‖ + ‖x_b‖‖w_r‖, and ‖w_b‖ ≤ ‖w‖ + ‖w_r‖ bounds the fp32 sum's
    # error γ·Σ|x_b·w_b|
    product_error = (input_residual * weight_norm + row_norms * weight_residual
                     + gamma * row_norms * (weight_norm + weight_residual))
    # the output's rounding: |s − bf16(s)| ≤ u·|s| ≤ u/(1 − u)·|bf16(s)|; p + c·|p| grows with p, so the largest
    # left-out value has the largest ceiling
    left_out_ceiling = threshold + _BF16_UNIT / (1 - _BF16_UNIT) * threshold.abs() + _SLACK * product_error
    exact_error = _SLACK * gamma * torch.sqrt(encoder_input.pow(2).sum(dim=1) + 1) * weight_norm
    kth_floor = top_values[:, 0] - exact_error
    return (~(left_out_ceiling < kth_floor)).nonzero().squeeze(1)  # written so that a NaN counts as unproven
