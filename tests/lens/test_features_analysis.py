"""lens.features.analysis: every streamed number against a brute-force pass over all tokens at once.

The brute force runs the model without hooks (`output_hidden_states`), encodes every token in one call and computes
frequencies, histograms, top examples, interval samples and correlations with plain numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features.analysis import AnalysisProgress, FeatureAnalysis, analyze_features
from mistudio.lens.features.config import AnalysisConfig
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig
from tests.support.tiny_models import BOS_ID, PAD_ID

HOOK_POINT = "blocks.0.resid_post"  # = hidden_states[1] of the HF model
WIDTH = 48
CONFIG = AnalysisConfig(top_k=4, context=3, histogram_bins=12, histogram_log10_range=(-1.5, 0.2), intervals=4,
                        per_interval=2, correlations=5, correlation_candidates=WIDTH - 1, batch_size=5,
                        ignore_token_ids=(BOS_ID,), seed=7)


def make_inputs(sequences: int = 14, length: int = 24, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random tokens after a BOS; two sequences right-padded."""
    ids = torch.randint(5, 500, (sequences, length), generator=torch.Generator().manual_seed(seed))
    ids[:, 0] = BOS_ID
    mask = torch.ones_like(ids)
    for row in (3, 7):
        if row < sequences:
            mask[row, length - 6:] = 0
            ids[row, length - 6:] = PAD_ID
    return ids, mask


def make_sae(architecture: str = "standard", hook_point: str = HOOK_POINT, seed: int = 1) -> SparseAutoencoder:
    """A random SAE scaled to the tiny model's small activations, firing on roughly a fifth of the tokens."""
    k = 6 if architecture == "topk" else None
    sae = SparseAutoencoder(SAEConfig(architecture, d_in=64, d_sae=WIDTH, k=k, hook_point=hook_point,
                                      input_scale=40.0), seed=seed)
    with torch.no_grad():
        sae.b_enc.copy_(-0.8 + 0.3 * torch.randn(WIDTH, generator=torch.Generator().manual_seed(seed)))
    return sae


@torch.no_grad()
def brute_latents(model: torch.nn.Module, sae: SparseAutoencoder, ids: torch.Tensor, mask: torch.Tensor,
                  ignore: tuple[int, ...] = (BOS_ID,)) -> tuple[np.ndarray, np.ndarray]:
    """Latents [sequences, seq, width] of every token (zero where not counted) and the counted mask."""
    layer = int(sae.config.hook_point.split(".")[1])
    hidden = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[layer + 1]
    counted = mask.bool() & ~torch.isin(ids, torch.tensor(ignore))
    latents = sae.encode(hidden).float() * counted[..., None]
    return latents.numpy().astype(np.float64), counted.numpy()


def brute_window(values: np.ndarray, position: int, context: int, fill: float) -> np.ndarray:
    out = []
    for where in range(position - context, position + context + 1):
        out.append(values[where] if 0 <= where < len(values) else fill)
    return np.array(out)


def mix31(x: int) -> int:
    """The documented sampling hash, rewritten on Python integers."""
    x &= (1 << 31) - 1
    for _ in range(3):
        x = (((x >> 16) ^ x) * 0x45D9F3B) & ((1 << 31) - 1)
    return x


def sample_key(sequence: int, latent: int, seed: int) -> int:
    return (mix31(mix31(sequence + mix31(seed)) ^ latent) << 31) | sequence


@pytest.fixture(scope="module")
def setting(load_model: Callable[[str], torch.nn.Module]) -> dict:
    model = load_model("llama")
    ids, mask = make_inputs()
    return {"model": model, "ids": ids, "mask": mask}


@pytest.mark.parametrize("architecture", ["standard", "topk"])
def test_statistics_equal_a_brute_force_pass_over_all_tokens(setting: dict, architecture: str) -> None:
    sae = make_sae(architecture)
    result = analyze_features(setting["model"], sae, setting["ids"], CONFIG, attention_mask=setting["mask"])
    latents, counted = brute_latents(setting["model"], sae, setting["ids"], setting["mask"])
    tokens = latents[counted]  # [counted tokens, width]
    summary = result.summary
    assert summary.tokens == counted.sum() == 14 * 23 - 2 * 6
    np.testing.assert_array_equal(summary.active_count, (tokens > 0).sum(axis=0))
    np.testing.assert_allclose(summary.frequency, (tokens > 0).mean(axis=0))
    np.testing.assert_allclose(summary.max_activation, tokens.max(axis=0), rtol=1e-5)
    np.testing.assert_allclose(summary.mean_activation, tokens.mean(axis=0), rtol=1e-5)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(summary.mean_when_active, tokens.sum(axis=0) / (tokens > 0).sum(axis=0), rtol=1e-5)
    edges = np.linspace(-1.5, 0.2, 13)
    expected = np.zeros((WIDTH, 12), dtype=np.int64)
    for latent in range(WIDTH):
        values = np.log10(tokens[tokens[:, latent] > 0, latent])
        expected[latent] = np.bincount(np.digitize(values, edges[1:-1]), minlength=12)
    np.testing.assert_array_equal(summary.histogram, expected)
    assert summary.histogram[:, 0].sum() > 0 and summary.histogram[:, -1].sum() > 0  # both ends were clamped into
    assert 0 < summary.frequency.mean() < 0.5


def test_top_examples_are_each_latents_highest_sequence_peaks_with_their_windows(setting: dict) -> None:
    sae = make_sae()
    result = analyze_features(setting["model"], sae, setting["ids"], CONFIG, attention_mask=setting["mask"])
    latents, _ = brute_latents(setting["model"], sae, setting["ids"], setting["mask"])
    ids = np.where(setting["mask"].numpy() == 1, setting["ids"].numpy(), -1)
    peaks, where = latents.max(axis=1), latents.argmax(axis=1)  # [sequences, width]
    checked = 0
    for latent in range(WIDTH):
        firing = [s for s in range(len(peaks)) if peaks[s, latent] > 0]
        best = sorted(firing, key=lambda s: -peaks[s, latent])[:CONFIG.top_k]
        found = result.examples.of(latent, "top")
        assert found.sequence.tolist() == best
        assert found.rank.tolist() == list(range(len(best)))
        np.testing.assert_allclose(found.activation, peaks[best, latent], rtol=1e-5)
        for row, sequence in enumerate(best):
            position = where[sequence, latent]
            assert found.position[row] == position
            np.testing.assert_array_equal(found.tokens[row], brute_window(ids[sequence], position, 3, -1))
            np.testing.assert_allclose(found.activations[row],
                                       brute_window(latents[sequence, :, latent], position, 3, 0.0), rtol=1e-5,
                                       atol=1e-7)
            checked += 1
    assert checked > 2 * WIDTH  # most latents fill their four slots


def test_interval_samples_are_the_hashed_uniform_choice_in_equal_width_intervals_of_the_maximum(setting: dict) -> None:
    sae = make_sae()
    result = analyze_features(setting["model"], sae, setting["ids"], CONFIG, attention_mask=setting["mask"])
    latents, counted = brute_latents(setting["model"], sae, setting["ids"], setting["mask"])
    maximum = latents.reshape(-1, WIDTH).max(axis=0).astype(np.float32).astype(np.float64)
    peaks = latents.max(axis=1).astype(np.float32).astype(np.float64)
    assert result.interval_kind == "equal-width"
    sampled = 0
    for latent in range(WIDTH):
        edges = [maximum[latent] * j / CONFIG.intervals for j in range(1, CONFIG.intervals)]
        found = result.examples.of(latent, "interval")
        for interval in range(CONFIG.intervals):
            members = [s for s in range(len(peaks)) if peaks[s, latent] > 0
                       and sum(peaks[s, latent] > edge for edge in edges) == interval]
            chosen = sorted(members, key=lambda s: sample_key(s, latent, CONFIG.seed))[:CONFIG.per_interval]
            chosen.sort(key=lambda s: (-peaks[s, latent], s))  # shown by activation, ties: earlier sequence
            here = found.select(found.interval == interval)
            assert here.sequence.tolist() == chosen, (latent, interval)
            sampled += len(chosen)
            lower, upper = interval * maximum[latent] / 4, (interval + 1) * maximum[latent] / 4
            assert all(lower < value <= upper * (1 + 1e-6) for value in here.activation)
    assert sampled > WIDTH * 3


def test_correlations_with_every_latent_a_candidate_equal_the_full_correlation_matrix(setting: dict) -> None:
    sae = make_sae()
    result = analyze_features(setting["model"], sae, setting["ids"], CONFIG, attention_mask=setting["mask"])
    latents, counted = brute_latents(setting["model"], sae, setting["ids"], setting["mask"])
    tokens = latents[counted]
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.corrcoef(tokens.T)
    np.fill_diagonal(matrix, -np.inf)
    matrix = np.where(np.isnan(matrix), -np.inf, matrix)
    for latent in range(WIDTH):
        order = np.argsort(-matrix[latent], kind="stable")[:CONFIG.correlations]
        live = np.isfinite(matrix[latent, order])
        np.testing.assert_array_equal(result.correlations.indices[latent].numpy()[live], order[live])
        np.testing.assert_allclose(result.correlations.cosine[latent].numpy()[live], matrix[latent, order][live],
                                   rtol=1e-4, atol=1e-6)
        assert (result.correlations.indices[latent].numpy()[~live] == -1).all()


def test_correlations_from_a_few_sketched_candidates_are_exact_and_find_the_strongest_pairs(setting: dict) -> None:
    sae = make_sae()
    config = replace(CONFIG, correlations=2, correlation_candidates=8, sketch_size=256, per_interval=0)
    result = analyze_features(setting["model"], sae, setting["ids"], config, attention_mask=setting["mask"])
    latents, counted = brute_latents(setting["model"], sae, setting["ids"], setting["mask"])
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.corrcoef(latents[counted].T)
    np.fill_diagonal(matrix, np.nan)
    found = result.correlations
    for latent in range(WIDTH):
        for partner, value in zip(found.indices[latent].tolist(), found.cosine[latent].tolist(), strict=True):
            if partner >= 0:  # whatever was found carries its exact correlation
                assert value == pytest.approx(matrix[latent, partner], rel=1e-4, abs=1e-6)
    strongest = np.nanargmax(np.where(np.isnan(matrix), -np.inf, matrix), axis=1)
    recall = np.mean([strongest[latent] in found.indices[latent].tolist() for latent in range(WIDTH)])
    assert recall >= 0.9


def _stopper(at: set[int]) -> Callable[[], bool]:
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] in at

    return should_stop


def test_a_run_stopped_and_resumed_from_disk_in_both_passes_equals_an_uninterrupted_one(setting: dict,
                                                                                           tmp_path: Path) -> None:
    model, ids, mask, sae = setting["model"], setting["ids"], setting["mask"], make_sae()
    whole = analyze_features(model, sae, ids, CONFIG, attention_mask=mask)
    analysis = FeatureAnalysis(sae, CONFIG)
    should_stop = _stopper({2, 6})  # 3 batches a pass: the 2nd check is in the first pass, the 6th in the second
    rounds = 0
    while not analysis.run(model, ids, mask, should_stop=should_stop):
        analysis.save(tmp_path / "state.safetensors")
        analysis = FeatureAnalysis.load(tmp_path / "state.safetensors", sae)
        rounds += 1
    assert rounds == 2
    resumed = analysis.result(ids, mask)
    for name, value in vars(whole.summary).items():
        np.testing.assert_array_equal(getattr(resumed.summary, name), value, err_msg=name)
    for name, value in whole.examples.columns().items():
        np.testing.assert_array_equal(getattr(resumed.examples, name), value, err_msg=name)
    assert torch.equal(resumed.correlations.indices, whole.correlations.indices)
    assert torch.equal(resumed.correlations.cosine.nan_to_num(), whole.correlations.cosine.nan_to_num())


def test_batch_size_changes_only_the_rounding(setting: dict) -> None:
    model, ids, mask, sae = setting["model"], setting["ids"], setting["mask"], make_sae("topk")
    small = analyze_features(model, sae, ids, replace(CONFIG, batch_size=3), attention_mask=mask)
    large = analyze_features(model, sae, ids, replace(CONFIG, batch_size=14), attention_mask=mask)
    np.testing.assert_array_equal(small.summary.active_count, large.summary.active_count)
    np.testing.assert_array_equal(small.examples.sequence, large.examples.sequence)
    np.testing.assert_allclose(small.examples.activations, large.examples.activations, rtol=1e-5, atol=1e-7)


def test_progress_covers_both_passes_and_ends_at_one(setting: dict) -> None:
    seen: list[AnalysisProgress] = []
    analyze_features(setting["model"], make_sae(), setting["ids"], CONFIG, attention_mask=setting["mask"],
                     on_progress=seen.append)
    assert [(p.phase, p.sequences_done) for p in seen] == [
        ("activations", 5), ("activations", 10), ("activations", 14), ("samples", 5), ("samples", 10),
        ("samples", 14)]
    assert seen[-1].fraction == 1.0 and seen[2].fraction == 0.5
    assert all(p.tokens_per_second > 0 for p in seen)


def test_state_size_does_not_grow_with_the_number_of_tokens(setting: dict, tmp_path: Path) -> None:
    sizes = []
    for sequences in (4, 14):
        ids, mask = make_inputs(sequences)
        analysis = FeatureAnalysis(make_sae(), CONFIG)
        should_stop = _stopper({(sequences + 4) // 5 + 1})  # stopped as the second pass begins: all built
        assert not analysis.run(setting["model"], ids, mask, should_stop=should_stop)
        analysis.save(tmp_path / f"{sequences}.safetensors")
        sizes.append((tmp_path / f"{sequences}.safetensors").stat().st_size)
    assert abs(sizes[0] - sizes[1]) < 200  # the JSON metadata's numbers differ by a few digits, the tensors not


def test_an_sae_trained_on_another_width_is_refused_naming_the_hook_point(setting: dict) -> None:
    sae = SparseAutoencoder(SAEConfig("standard", d_in=32, d_sae=8, hook_point=HOOK_POINT))
    with pytest.raises(InvalidArgument, match="blocks.0.resid_post has 64"):
        analyze_features(setting["model"], sae, setting["ids"], CONFIG)


def test_an_sae_without_a_hook_point_is_refused(setting: dict) -> None:
    sae = SparseAutoencoder(SAEConfig("standard", d_in=64, d_sae=8))
    with pytest.raises(InvalidArgument, match="hook_point"):
        analyze_features(setting["model"], sae, setting["ids"], CONFIG)


def test_resuming_on_other_tokens_or_with_another_sae_is_refused(setting: dict, tmp_path: Path) -> None:
    sae = make_sae()
    analysis = FeatureAnalysis(sae, CONFIG)
    assert not analysis.run(setting["model"], setting["ids"], setting["mask"], should_stop=_stopper({2}))
    analysis.save(tmp_path / "state.safetensors")
    other_ids, other_mask = make_inputs(seed=5)
    with pytest.raises(InvalidArgument, match="started on other tokens"):
        FeatureAnalysis.load(tmp_path / "state.safetensors", sae).run(setting["model"], other_ids, other_mask)
    with pytest.raises(InvalidArgument, match="another SAE"):
        FeatureAnalysis.load(tmp_path / "state.safetensors", make_sae("topk"))


def test_config_out_of_range_names_the_field() -> None:
    with pytest.raises(InvalidArgument, match="top_k"):
        AnalysisConfig(top_k=0)
    with pytest.raises(InvalidArgument, match="correlation_candidates"):
        AnalysisConfig(correlations=20, correlation_candidates=10)
    with pytest.raises(InvalidArgument, match="histogram_log10_range"):
        AnalysisConfig(histogram_log10_range=(1.0, -1.0))


def test_a_gpt2_model_with_a_jumprelu_sae_matches_the_brute_force_too(
        load_model: Callable[[str], torch.nn.Module]) -> None:
    model = load_model("gpt2")
    ids, mask = make_inputs(sequences=9)
    sae = SparseAutoencoder(SAEConfig("jumprelu", d_in=64, d_sae=WIDTH, hook_point=HOOK_POINT, input_scale=10.0,
                                      jumprelu_init_threshold=0.3), seed=2)
    config = replace(CONFIG, per_interval=0, correlations=0)
    result = analyze_features(model, sae, ids, config, attention_mask=mask)
    latents, counted = brute_latents(model, sae, ids, mask)
    tokens = latents[counted]
    np.testing.assert_array_equal(result.summary.active_count, (tokens > 0).sum(axis=0))
    np.testing.assert_allclose(result.summary.max_activation, tokens.max(axis=0), rtol=1e-5)
    peaks = latents.max(axis=1)
    for latent in range(WIDTH):
        best = sorted((s for s in range(9) if peaks[s, latent] > 0), key=lambda s: -peaks[s, latent])[:4]
        assert result.examples.of(latent).sequence.tolist() == best
    assert 0 < (tokens > 0).mean() < 0.6
