"""lens.steer contrastive directions: difference of means checked prompt by prompt, pairs validated, saved and
loaded with their metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.hooks import capture_activations
from mistudio.lens.model import ModelHandle
from mistudio.lens.steer import (
    AddDirection,
    Direction,
    contrastive_direction,
    load_direction,
    random_direction,
    save_direction,
)
from tests.lens.test_steer_interventions import D_MODEL, open_tiny

HAPPY = ["I love this bright morning", "What a warm and happy day", "The song was gentle"]
SAD = ["I hate the cold dark night", "A sad and quiet evening it was for the king", "Rain"]
POINT = "blocks.1.resid_pre"


@pytest.fixture(scope="module")
def handle(tiny_models: Any) -> ModelHandle:
    return open_tiny(tiny_models)


def _one_by_one(handle: ModelHandle, prompts: list[str], reduce: str) -> torch.Tensor:
    """Each prompt alone (no batching, no padding): its last token's activation, or the mean over its tokens."""
    rows = []
    with capture_activations(handle.model, [POINT]) as captured, torch.no_grad():
        for prompt in prompts:
            handle.model(**handle.tokenizer(prompt, return_tensors="pt"))
            activation = captured[POINT][0]
            rows.append(activation[-1] if reduce == "last" else activation.mean(dim=0))
    return torch.stack(rows)


@pytest.mark.parametrize("reduce", ["last", "mean"])
def test_the_direction_is_the_difference_of_the_means_of_each_prompts_activation(
        handle: ModelHandle, reduce: str) -> None:
    # Prompts of different lengths, batched two at a time: padding must not move any prompt's activation.
    direction = contrastive_direction(handle, HAPPY, SAD, POINT, reduce=reduce, batch_size=2,  # type: ignore[arg-type]
                                      name="happy")
    expected = _one_by_one(handle, HAPPY, reduce).mean(dim=0) - _one_by_one(handle, SAD, reduce).mean(dim=0)
    torch.testing.assert_close(direction.vector, expected, rtol=1e-4, atol=1e-6)
    assert direction.hook_point == POINT and direction.name == "happy"
    assert direction.metadata["pairs"] == "3" and direction.metadata["reduce"] == reduce


def test_swapping_the_sides_flips_the_direction(handle: ModelHandle) -> None:
    forward = contrastive_direction(handle, HAPPY, SAD, POINT)
    backward = contrastive_direction(handle, SAD, HAPPY, POINT)
    torch.testing.assert_close(backward.vector, -forward.vector)
    assert forward.norm > 0


@pytest.mark.parametrize(("positive", "negative", "field"), [
    (HAPPY, SAD[:2], "negative"), ([], [], "positive"), (HAPPY, [], "negative"), (["ok", " "], ["a", "b"], "positive"),
    ("a single string", "another", "positive")])
def test_pairs_of_unequal_count_or_empty_prompts_are_refused_naming_the_field(
        handle: ModelHandle, positive: Any, negative: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        contrastive_direction(handle, positive, negative, POINT)
    assert error.value.details["field"] == field


def test_a_hook_point_the_model_lacks_is_refused(handle: ModelHandle) -> None:
    with pytest.raises(InvalidArgument) as error:
        contrastive_direction(handle, HAPPY, SAD, "blocks.1.somewhere")
    assert error.value.details["field"] == "hook_point"


def test_a_saved_direction_loads_back_with_its_metadata(handle: ModelHandle, tmp_path: Path) -> None:
    direction = contrastive_direction(handle, HAPPY, SAD, POINT, name="happy")
    path = save_direction(direction, tmp_path / "nested" / "happy.safetensors")
    loaded = load_direction(path)
    assert torch.equal(loaded.vector, direction.vector)
    assert (loaded.hook_point, loaded.name) == (POINT, "happy")
    assert loaded.metadata["method"] == "difference_of_means" and loaded.metadata["pairs"] == "3"
    with safe_open(str(path), framework="pt") as file:  # what another tool sees in the file
        assert file.metadata()["format"] == "mistudio.direction" and file.metadata()["hook_point"] == POINT
        assert list(file.keys()) == ["direction"]
    steering = loaded.intervention(2.0, positions="generated")
    assert isinstance(steering, AddDirection) and steering.strength == 2.0 and steering.hook_point == POINT


def test_files_that_are_not_saved_directions_are_refused(tmp_path: Path) -> None:
    cases = {"missing.safetensors": None, "garbage.safetensors": b"not safetensors at all"}
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
    save_file({"weights": torch.ones(3)}, str(tmp_path / "other.safetensors"), metadata={"format": "pt"})
    save_file({"direction": torch.ones(3)}, str(tmp_path / "nohook.safetensors"),
              metadata={"format": "mistudio.direction"})
    save_file({"direction": torch.ones(3)}, str(tmp_path / "badhook.safetensors"),
              metadata={"format": "mistudio.direction", "hook_point": "layer 3"})
    for name in ("missing", "garbage", "other", "nohook", "badhook"):
        with pytest.raises(InvalidArgument) as error:
            load_direction(tmp_path / f"{name}.safetensors")
        assert error.value.details["field"] == "path", name


def test_a_random_direction_has_the_same_norm_and_depends_only_on_its_seed() -> None:
    like = torch.randn(D_MODEL, generator=torch.Generator().manual_seed(0)) * 3
    first, again, other = random_direction(like, 1), random_direction(like, 1), random_direction(like, 2)
    assert float(first.norm()) == pytest.approx(float(like.norm()), rel=1e-6)
    assert torch.equal(first, again) and not torch.allclose(first, other)
    assert abs(float(torch.nn.functional.cosine_similarity(first, like, dim=0))) < 0.5


def test_a_direction_is_just_a_vector_and_a_hook_point() -> None:
    direction = Direction(torch.tensor([3.0, 4.0]), "blocks.0.resid_post")
    assert direction.norm == 5.0 and direction.intervention().label == "direction"
