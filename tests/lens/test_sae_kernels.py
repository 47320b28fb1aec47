"""The sparse training kernels give the gradients dense autograd gives, on every parameter they touch."""

from __future__ import annotations

import pytest
import torch

from mistudio.lens.sae import kernels


def _dense_reference(x, W_enc, b_enc, b_dec, W_dec, pattern_mask, target):  # noqa: N803
    pre = (x - b_dec) @ W_enc + b_enc
    latents = (pre * pattern_mask).relu()
    out = latents @ W_dec + b_dec
    return (out - target).pow(2).sum(-1).mean()


@pytest.mark.parametrize("rule", ["topk", "batchtopk"])
def test_sparse_gradients_equal_dense_autograd(rule):
    torch.manual_seed(0)
    tokens, d, width, k = 37, 16, 96, 5
    x, target = torch.randn(tokens, d), torch.randn(tokens, d)
    params = [torch.randn(d, width) * 0.3, torch.randn(width) * 0.1, torch.randn(d) * 0.1, torch.randn(width, d) * 0.3]
    dense = [p.clone().requires_grad_() for p in params]
    sparse = [p.clone().requires_grad_() for p in params]
    W_enc, b_enc, b_dec, W_dec = sparse  # noqa: N806
    with torch.no_grad():
        pre = torch.addmm(b_enc - b_dec @ W_enc, x, W_enc)
    pattern, chosen = (kernels.topk_pattern(pre, k) if rule == "topk" else kernels.batch_topk_pattern(pre, k))
    values = kernels.selected_preactivations(chosen, x, W_enc, b_enc, b_dec, pattern).relu()
    out = kernels.sparse_decode(values, W_dec, pattern) + b_dec
    loss = (out - target).pow(2).sum(-1).mean()
    loss.backward()
    mask = torch.zeros(tokens, width)
    mask[pattern.rows(), pattern.indices] = 1.0
    if rule == "topk":
        assert pattern.nnz == tokens * k
    else:
        assert pattern.nnz >= tokens * k
    reference = _dense_reference(x, *dense[:3], dense[3], mask, target)
    reference.backward()
    assert torch.allclose(loss, reference, atol=1e-5)
    for ours, theirs in zip(sparse, dense, strict=True):
        assert torch.allclose(ours.grad, theirs.grad, atol=1e-5, rtol=1e-4)


def test_batch_topk_keeps_the_batchs_largest_values_even_when_one_token_takes_many():
    torch.manual_seed(1)
    pre = torch.randn(8, 50)
    pre[3] += 100.0  # one token holds all of the batch's largest values
    pattern, chosen = kernels.batch_topk_pattern(pre, 2)
    expected = pre.reshape(-1).topk(16).values
    assert torch.equal(chosen.sort().values, expected.sort().values)
    assert set(pattern.rows().tolist()) == {3}


def test_the_sparse_relu_step_equals_the_dense_one(monkeypatch):
    from mistudio.lens.sae import losses
    from mistudio.lens.sae.architectures import SparseAutoencoder
    from mistudio.lens.sae.config import SAEConfig

    torch.manual_seed(3)
    config = SAEConfig("standard", d_in=16, d_sae=256, decoder_norm="in_loss")
    x = torch.randn(64, 16)
    outputs, grads = [], []
    for density in (1.0, losses.SPARSE_DENSITY):  # the dense path (any density), then the sparse one
        monkeypatch.setattr(losses, "SPARSE_DENSITY", density if density < 1 else -1.0)
        sae = SparseAutoencoder(config, seed=4)
        with torch.no_grad():
            sae.b_enc.fill_(-0.25)  # few active latents: the sparse path is allowed
        output = losses.standard_loss(sae, losses.StepInput(x, x, 2.0))
        output.loss.backward()
        outputs.append(output)
        grads.append({name: p.grad.clone() for name, p in sae.named_parameters()})
    dense, sparse = outputs
    assert "l1" in dense.parts and sparse.active < 64 * 256 / 16
    assert sparse.active == dense.active and torch.equal(sparse.fired, dense.fired)
    assert torch.allclose(sparse.loss, dense.loss, rtol=1e-5)
    for name in grads[0]:
        assert torch.allclose(grads[1][name], grads[0][name], atol=1e-5, rtol=1e-4), name


@pytest.mark.parametrize("preselected", [True, False])
def test_the_topk_step_with_dead_latents_equals_dense_autograd_of_gao_et_al_auxk(monkeypatch, preselected):
    """mse + α·AuxK written out densely (Gao et al. 2024: the top k_aux dead latents' pre-activations, ReLU'd,
    reconstruct the detached residual error; normalised by the error's variance, scaled by n_dead / k_aux); with
    the bf16-preselected top-k and without it."""
    from mistudio.lens.sae import preselect
    from mistudio.lens.sae.architectures import SparseAutoencoder
    from mistudio.lens.sae.config import SAEConfig
    from mistudio.lens.sae.losses import StepInput, training_step

    monkeypatch.setattr(preselect, "preselection_available", lambda device: preselected)
    torch.manual_seed(3)
    tokens, d, width, k, alpha = 29, 8, 64, 3, 0.5
    sae = SparseAutoencoder(SAEConfig("topk", d_in=d, d_sae=width, k=k), seed=1)
    with torch.no_grad():
        sae.b_dec.copy_(torch.randn(d) * 0.1)
        sae.b_enc.copy_(torch.randn(width) * 0.1)
    x = torch.randn(tokens, d)
    dead = torch.zeros(width, dtype=torch.bool)
    dead[torch.randperm(width)[:3]] = True  # fewer dead than k_aux = d // 2: the scale-down applies
    output = training_step(sae, StepInput(x, x, aux_coefficient=alpha, dead=dead))
    output.loss.backward()
    ours = {name: p.grad.clone() for name, p in sae.named_parameters()}

    params = {name: p.detach().clone().requires_grad_() for name, p in sae.named_parameters()}
    pre = (x - params["b_dec"]) @ params["W_enc"] + params["b_enc"]
    top = pre.detach().topk(k, dim=1).indices
    latents = torch.zeros_like(pre).scatter(1, top, pre.gather(1, top)).relu()
    reconstruction = latents @ params["W_dec"] + params["b_dec"]
    mse = (reconstruction - x).pow(2).sum(-1).mean()
    n_dead, k_aux = int(dead.sum()), min(d // 2, int(dead.sum()))
    dead_pre = pre.masked_fill(~dead, float("-inf"))
    aux_top = dead_pre.detach().topk(k_aux, dim=1).indices
    aux_latents = torch.zeros_like(pre).scatter(1, aux_top, pre.gather(1, aux_top)).relu()
    error = (x - reconstruction).detach()
    auxk = (aux_latents @ params["W_dec"] - error).pow(2).sum() / (error - error.mean(0)).pow(2).sum()
    auxk = auxk * min(n_dead / (d // 2), 1.0)
    (mse + alpha * auxk).backward()
    assert output.parts["auxk"] == pytest.approx(auxk.item(), rel=1e-5)
    assert float(output.loss) == pytest.approx((mse + alpha * auxk).item(), rel=1e-5)
    for name, param in params.items():
        assert torch.allclose(ours[name], param.grad, atol=1e-5, rtol=1e-4), name


def _dense_topk_sets(x, W_enc, b_enc, b_dec, k):  # noqa: N803
    pre = torch.addmm(b_enc, x - b_dec, W_enc).double()
    top = pre.topk(k, dim=1)
    return top.indices.sort(dim=1).values, top.values.sort(dim=1).values


def _preselection_inputs(tokens=300, d=48, width=768):
    torch.manual_seed(5)
    x = torch.randn(tokens, d) * 1.5 + torch.randn(d)  # a residual-stream-like offset
    rows = torch.randn(width, d)
    W_enc = (rows / rows.norm(dim=1, keepdim=True)).t().contiguous()  # noqa: N806
    return x, W_enc, torch.randn(width) * 0.1, x.mean(dim=0)


def test_the_preselected_topk_is_the_exact_fp32_topk():
    from mistudio.lens.sae.preselect import encoder_topk

    x, W_enc, b_enc, b_dec = _preselection_inputs()  # noqa: N806
    k = 8
    chosen = encoder_topk(x, W_enc, b_enc, b_dec, k, preselect=True, margin=24)
    assert chosen.dense_rows < x.shape[0] // 10  # the bound proved most tokens: the bf16 product did the ranking
    indices, values = _dense_topk_sets(x, W_enc, b_enc, b_dec, k)
    ours = chosen.pattern.indices.view(-1, k).long()
    assert torch.equal(ours.sort(dim=1).values, indices)
    ours_values = chosen.values.view(-1, k).double().sort(dim=1).values
    assert torch.allclose(ours_values, values, atol=1e-5, rtol=0)
    # the values are the pre-activations at the chosen entries (the pattern's order)
    pre = torch.addmm(b_enc, x - b_dec, W_enc)
    assert torch.allclose(chosen.values, kernels.gather(pre, chosen.pattern), atol=1e-5, rtol=0)


def test_a_token_with_near_ties_takes_the_dense_product_and_stays_exact():
    """Token 0's pre-activations are b_enc alone (its input equals b_dec), 1e-6 apart: bf16 cannot rank them
    (all round to 1.0), so the bound cannot prove its candidates complete and the dense fp32 product decides."""
    from mistudio.lens.sae.preselect import encoder_topk

    x, W_enc, b_enc, b_dec = _preselection_inputs()  # noqa: N806
    x[0] = b_dec
    b_enc = 1.0 + 1e-6 * torch.randperm(b_enc.numel()).float()  # distinct in fp32, all 1.0 in bf16
    k = 8
    chosen = encoder_topk(x, W_enc, b_enc, b_dec, k, preselect=True, margin=24)
    assert 1 <= chosen.dense_rows < x.shape[0]
    indices, _ = _dense_topk_sets(x, W_enc, b_enc, b_dec, k)
    ours = chosen.pattern.indices.view(-1, k).long().sort(dim=1).values
    assert torch.equal(ours[0], b_enc.topk(k).indices.sort().values)
    assert torch.equal(ours, indices)


def test_without_preselection_the_chunked_topk_is_the_dense_topk():
    from mistudio.lens.sae import preselect

    x, W_enc, b_enc, b_dec = _preselection_inputs(tokens=preselect.CHUNK_TOKENS + 77)  # noqa: N806
    chosen = preselect.encoder_topk(x, W_enc, b_enc, b_dec, 8, preselect=False)
    indices, values = _dense_topk_sets(x, W_enc, b_enc, b_dec, 8)
    assert chosen.dense_rows == x.shape[0]
    assert torch.equal(chosen.pattern.indices.view(-1, 8).long().sort(dim=1).values, indices)
    assert torch.allclose(chosen.values.view(-1, 8).double().sort(dim=1).values, values, atol=1e-5, rtol=0)


def test_numpy_rows_covers_every_row_once_and_raises_a_ranges_error():
    import numpy as np

    from mistudio.lens.threads import numpy_rows

    seen = np.zeros(1000, dtype=np.int64)

    def mark(start, end):
        seen[start:end] += 1

    numpy_rows(mark, 1000, threads=3)
    assert (seen == 1).all()

    def fail_past_500(start, end):
        if end > 500:
            raise ValueError(f"rows {start}-{end}")

    with pytest.raises(ValueError, match="rows"):
        numpy_rows(fail_past_500, 1000, threads=2)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_bf16_ranking_keeps_each_rows_largest_and_its_threshold(threads):
    """The rows split over threads rank as torch's topk does: the same set per row (the values are distinct), the
    count-th largest as the threshold."""
    from mistudio.lens.sae import preselect

    torch.manual_seed(7)
    rows, width, count = 301, 640, 24
    # each row a shuffle of 640 values distinct in bf16 (8 significant bits: 128 per power of 2), some negative
    distinct = torch.tensor([(1 + m / 128) * 2.0**e for e in range(-3, 2) for m in range(128)])
    distinct[::3] *= -1
    product = torch.stack([distinct[torch.randperm(width)] for _ in range(rows)]).bfloat16()
    assert torch.equal(product.float()[0].unique().sort().values, distinct.sort().values)
    candidates, threshold = torch.empty(rows, count, dtype=torch.long), torch.empty(rows)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        preselect._rank_bf16(product, count, candidates, threshold)
    finally:
        torch.set_num_threads(before)
    top = product.float().topk(count, dim=1)
    assert torch.equal(candidates.sort(dim=1).values, top.indices.sort(dim=1).values)
    assert torch.equal(threshold, top.values[:, -1])


def test_the_stable_latent_sort_keeps_equal_ids_in_token_order():
    torch.manual_seed(8)
    for width in (4608, 2**16 + 5):  # uint16 ids (numpy's radix sort) and wider ones
        indices = torch.randint(0, width, (5000,), dtype=torch.int32)
        indices[::7] = width - 1  # many equal ids: their order is the stable one
        assert torch.equal(kernels._argsort_stable(indices, width), torch.argsort(indices.long(), stable=True))


def test_the_overlapped_ranking_equals_ranking_the_whole_product(monkeypatch):
    """Products chunk by chunk on this thread, ranks on a numpy thread or this one (whichever starts a chunk first):
    the same candidates and thresholds as one product ranked at once."""
    from mistudio.lens.sae import preselect

    monkeypatch.setattr(preselect, "CHUNK_TOKENS", 16)  # 19 chunks, most still queued when the products are done
    x, W_enc, b_enc, b_dec = _preselection_inputs()  # noqa: N806
    rows_b = torch.cat([x - b_dec, torch.ones(x.shape[0], 1)], dim=1).bfloat16()
    latents_b = torch.cat([W_enc.t(), b_enc.unsqueeze(1)], dim=1).bfloat16()
    count = 20
    candidates, threshold = torch.empty(x.shape[0], count, dtype=torch.long), torch.empty(x.shape[0])
    preselect._rank_overlapped(rows_b, latents_b, count, candidates, threshold)
    whole_candidates, whole_threshold = torch.empty_like(candidates), torch.empty_like(threshold)
    preselect._rank_bf16(rows_b @ latents_b.t(), count, whole_candidates, whole_threshold, threads=1)
    assert torch.equal(threshold, whole_threshold)
    assert torch.equal(candidates.sort(dim=1).values, whole_candidates.sort(dim=1).values)
