"""lens.features.store and labels: a saved analysis reads back equal; labels follow the examples' peak tokens."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from mistudio.lens.errors import InvalidArgument, NotFound
from mistudio.lens.features.ablation import ablation_effects
from mistudio.lens.features.analysis import analyze_features
from mistudio.lens.features.labels import automatic_label, automatic_labels
from mistudio.lens.features.logit_lens import logit_lens
from mistudio.lens.features.neighbours import nearest_latents
from mistudio.lens.features.result import Examples
from mistudio.lens.features.store import load_features, read_examples, save_features
from mistudio.lens.token_text import token_text
from tests.lens.test_features_analysis import CONFIG, make_inputs, make_sae
from tests.support.tiny_models import tiny_tokenizer


@pytest.fixture(scope="module")
def computed(load_model: Callable[[str], torch.nn.Module]) -> dict:
    model = load_model("llama")
    ids, mask = make_inputs()
    sae = make_sae()
    result = analyze_features(model, sae, ids, CONFIG, attention_mask=mask)
    few = result.examples.select(np.isin(result.examples.latent, [2, 3]) & (result.examples.kind == 0))
    return {"result": result, "lens": logit_lens(model, sae, n=4), "neighbours": nearest_latents(sae, n=3),
            "ablation": ablation_effects(model, sae, ids, few, attention_mask=mask),
            "labels": automatic_labels(result.examples, tiny_tokenizer(), sae.width)}


def test_everything_saved_reads_back_equal(computed: dict, tmp_path: Path) -> None:
    result = computed["result"]
    save_features(tmp_path, result, logit_lens=computed["lens"], neighbours=computed["neighbours"],
                  ablation=computed["ablation"], labels=computed["labels"])
    saved = load_features(tmp_path)
    for name, value in vars(result.summary).items():
        np.testing.assert_array_equal(getattr(saved.analysis.summary, name), value, err_msg=name)
    for name, value in result.examples.columns().items():
        np.testing.assert_array_equal(getattr(saved.analysis.examples, name), value, err_msg=name)
    assert saved.analysis.config == result.config and saved.analysis.interval_kind == "equal-width"
    assert (saved.analysis.width, saved.analysis.sequences, saved.analysis.seq_len) == (48, 14, 24)
    assert torch.equal(saved.analysis.correlations.indices, result.correlations.indices)
    for name in ("promoted_tokens", "promoted_logits", "suppressed_tokens", "suppressed_logits"):
        assert torch.equal(getattr(saved.logit_lens, name), getattr(computed["lens"], name))
    assert torch.equal(saved.neighbours.cosine, computed["neighbours"].cosine)
    np.testing.assert_array_equal(saved.ablation.delta_loss, computed["ablation"].delta_loss)
    np.testing.assert_array_equal(saved.ablation.latent, computed["ablation"].latent)
    assert saved.labels == computed["labels"]
    assert (tmp_path / "features.json").stat().st_size < 4096  # a description, not the data


def test_one_latents_examples_are_read_alone_and_equal_the_full_table(computed: dict, tmp_path: Path) -> None:
    save_features(tmp_path, computed["result"])
    for latent in (0, 17, 47):
        alone = read_examples(tmp_path, latent)
        expected = computed["result"].examples.select(computed["result"].examples.latent == latent)
        assert len(alone) == len(expected) > 0
        for name, value in expected.columns().items():
            np.testing.assert_array_equal(getattr(alone, name), value, err_msg=name)
    with pytest.raises(InvalidArgument, match="out of range"):
        read_examples(tmp_path, 48)


def test_a_folder_whose_save_was_interrupted_is_not_read(computed: dict, tmp_path: Path) -> None:
    save_features(tmp_path, computed["result"])
    (tmp_path / "features.json").unlink()
    with pytest.raises(NotFound, match="interrupted"):
        load_features(tmp_path)


def test_every_automatic_label_names_its_latents_heaviest_peak_token(computed: dict) -> None:
    tokenizer, examples = tiny_tokenizer(), computed["result"].examples
    labels = computed["labels"]
    assert [label.latent for label in labels] == list(range(48))
    assert {label.kind for label in labels} == {"automatic"}
    for label in labels:
        top = examples.of(label.latent, "top")
        if len(top) == 0:
            assert label.text == "never active in the analysed tokens"
            continue
        weight: dict[str, float] = defaultdict(float)
        for token, activation in zip(top.tokens[:, CONFIG.context], top.activation, strict=True):
            text = token_text(tokenizer, int(token))  # part of a character: its bytes (tested on its own)
            weight[(text.strip() or repr(text)).lower()] += float(activation)  # whitespace shows as its repr
        heaviest = max(sorted(weight), key=lambda token: weight[token])
        assert label.peak_tokens[0][0] == heaviest
        assert label.peak_tokens[0][1] == pytest.approx(weight[heaviest] / sum(weight.values()), abs=1e-4)
        assert f'"{heaviest}"' in label.text


def _examples(latent: int, peaks: list[int], before: list[int], activation: list[float]) -> Examples:
    n = len(peaks)
    tokens = np.full((n, 3), 7, dtype=np.int64)
    tokens[:, 1], tokens[:, 0] = peaks, before
    return Examples(latent=np.full(n, latent), kind=np.zeros(n, np.int8), rank=np.arange(n),
                    interval=np.full(n, -1), activation=np.array(activation), sequence=np.arange(n),
                    position=np.full(n, 5), tokens=tokens, activations=np.zeros((n, 3), np.float32))


def test_a_label_says_the_dominant_token_the_token_before_it_and_what_it_promotes() -> None:
    tokenizer = tiny_tokenizer()
    river, queen, the, city = (tokenizer.encode(word, add_special_tokens=False)[0]
                               for word in (" river", " queen", " the", " city"))  # one token each
    examples = _examples(4, [river, river, queen], [the, the, city], [3.0, 2.0, 1.0])
    lens = logit_lens_of(4, [city, queen])
    label = automatic_label(4, examples, tokenizer, logit_lens=lens)
    assert label.text == '"river" after "the" → "city", "queen"'
    assert label.peak_tokens == (("river", pytest.approx(5 / 6, abs=1e-4)), ("queen", pytest.approx(1 / 6, abs=1e-4)))
    mixed = automatic_label(4, _examples(4, [river, queen, city], [river, queen, the], [1.0, 1.0, 1.0]), tokenizer)
    assert mixed.text == '"city" / "queen" / "river"'
    peaks = [river, queen, city, the, 300, 301]  # six tokens of equal weight: none reaches a fifth
    diffuse = automatic_label(4, _examples(4, peaks, [7] * 6, [1.0] * 6), tokenizer)
    first = sorted(tokenizer.decode([token]).strip().lower() for token in peaks)[:3]  # equal shares: alphabetical
    before = tokenizer.decode([7]).strip()
    assert diffuse.text == "diffuse: " + ", ".join(f'"{token}"' for token in first) + f' after "{before}"'


def logit_lens_of(latent: int, promoted: list[int]):
    from mistudio.lens.features.logit_lens import LogitLens

    tokens = torch.zeros(latent + 1, len(promoted), dtype=torch.int64)
    tokens[latent] = torch.tensor(promoted)
    values = torch.zeros(latent + 1, len(promoted))
    return LogitLens(tokens, values, tokens, values)
