"""How well a label fits its latent, as balanced accuracy, after the delphi paper's two simulation-free scores.

- Detection ("detect-v1"): the LLM gets the label and a shuffled mix of contexts where the latent fires and where
  it does not (no marks), and says for each whether the latent fires in it.
- Fuzzing ("fuzz-v1"): the LLM gets the label and contexts where the latent fires, with tokens marked << >>: in
  half of them the marks are on the tokens where it fires, in the other half on as many tokens where it does not;
  it says for each whether the marks are right.

Contexts go in batches (one prompt per batch); the answer is a list of 1/0 (yes/no). An answer that cannot be read
as exactly one verdict per context makes those items "unparsed": counted as wrong, never a crash. Balanced
accuracy is the mean of the true-positive and true-negative rates (of whichever classes are present), so a
label is not rewarded for a class imbalance.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features.explainer import CLOSE, OPEN, Context, render
from mistudio.lens.features.llm import ChatModel, Message

DETECTION_VERSION, FUZZING_VERSION = "detect-v1", "fuzz-v1"
_YES, _NO = {"1", "yes", "true", "y"}, {"0", "no", "false", "n"}
_WORD = r"(?:1|0|yes|no|true|false|y|n)"
_TOKENS_PER_VERDICT = 6


@dataclass(frozen=True)
class ScoredItem:
    text: str  # the context as the LLM saw it
    truth: bool  # detection: the latent fires in it; fuzzing: its marks are on the active tokens
    prediction: bool | None  # None: the answer could not be read ("unparsed", counted as wrong)


@dataclass(frozen=True)
class Score:
    method: str  # detection | fuzzing
    prompt_version: str
    balanced_accuracy: float | None  # None only when there was nothing to score
    items: list[ScoredItem]

    @property
    def unparsed(self) -> int:
        return sum(item.prediction is None for item in self.items)


def balanced_accuracy(truth: Sequence[bool], predictions: Sequence[bool | None]) -> float | None:
    """Mean over the classes present of the fraction of that class predicted right; None predictions are wrong."""
    if len(truth) != len(predictions):
        raise InvalidArgument(f"{len(truth)} truths but {len(predictions)} predictions", details={"field": "items"})
    rates = []
    for positive in (True, False):
        members = [prediction for actual, prediction in zip(truth, predictions, strict=True) if actual is positive]
        if members:
            rates.append(sum(prediction is positive for prediction in members) / len(members))
    return sum(rates) / len(rates) if rates else None


def _verdict(word: str) -> bool:
    return word.lower() in _YES


def parse_verdicts(answer: str, count: int) -> list[bool | None]:
    """One verdict per context from an answer such as "[1, 0, 1]", "1: yes / 2: no" or "1 0 1"; all None when the
    answer does not hold exactly `count` of them."""
    for listed in reversed(re.findall(r"\[([^\[\]]*)\]", answer)):
        words = re.findall(r"[A-Za-z0-9]+", listed)
        if len(words) == count and all(word.lower() in _YES | _NO for word in words):
            return [_verdict(word) for word in words]
    numbered = re.findall(rf"^\s*\(?(\d+)\s*[.):\-]\s*\**({_WORD})\b", answer, re.IGNORECASE | re.MULTILINE)
    if len(numbered) == count and [int(number) for number, _ in numbered] == list(range(1, count + 1)):
        return [_verdict(word) for _, word in numbered]
    bare = re.findall(rf"\b{_WORD}\b", answer, re.IGNORECASE)
    if len(bare) == count:
        return [_verdict(word) for word in bare]
    return [None] * count


def _ask(client: ChatModel, system: str, label: str, texts: list[str]) -> list[bool | None]:
    lines = "\n".join(f"{number}. {text}" for number, text in enumerate(texts, start=1))
    messages: list[Message] = [
        {"role": "system", "content": system},
        {"role": "user", "content": f'Feature: "{label}"\n\nExcerpts:\n{lines}\n\nAnswer with a list of '
                                    f"{len(texts)} numbers, 1 or 0, one per excerpt in order, like [1, 0, 1]."}]
    budget = _TOKENS_PER_VERDICT * len(texts) + 8
    if getattr(client, "continues_answers", False):
        # Begin the list and allow about "1, 0, …" for n excerpts (a digit and a comma each): a small model then
        # writes the verdicts, and has no room to run on past them with verdicts for excerpts that do not exist.
        messages.append({"role": "assistant", "content": "["})
        budget = 2 * len(texts)
    return parse_verdicts(client.chat(messages, budget), len(texts))


def _score(client: ChatModel, method: str, version: str, system: str, label: str,
           shown: list[tuple[str, bool]], batch_size: int) -> Score:
    if batch_size < 1:
        raise InvalidArgument(f"batch_size must be at least 1; got {batch_size}", details={"field": "batch_size"})
    items: list[ScoredItem] = []
    for start in range(0, len(shown), batch_size):
        batch = shown[start:start + batch_size]
        verdicts = _ask(client, system, label, [text for text, _ in batch])
        items += [ScoredItem(text, truth, verdict) for (text, truth), verdict in zip(batch, verdicts, strict=True)]
    return Score(method, version, balanced_accuracy([item.truth for item in items],
                                                    [item.prediction for item in items]), items)


def detection_score(client: ChatModel, label: str, activating: Sequence[Context], non_activating: Sequence[Context],
                    *, seed: int = 0, batch_size: int = 5) -> Score:
    """Does the LLM, given `label`, tell contexts where the latent fires from contexts where it does not?"""
    shown = [(render(c.tokens, [False] * len(c.tokens)), True) for c in activating]
    shown += [(render(c.tokens, [False] * len(c.tokens)), False) for c in non_activating]
    random.Random(seed).shuffle(shown)
    system = ("You check a description of a language-model feature. For each excerpt, say whether the feature "
              "described would be active on some token of it: 1 if it would, 0 if not.")
    return _score(client, "detection", DETECTION_VERSION, system, label, shown, batch_size)


def _wrong_marks(context: Context, rng: random.Random) -> list[bool] | None:
    """As many marks as the latent has active tokens here, on tokens where it is not active (None: impossible)."""
    active = sum(value > 0 for value in context.activations)
    quiet = [index for index, value in enumerate(context.activations) if value <= 0]
    if active == 0 or len(quiet) < active:
        return None
    chosen = set(rng.sample(quiet, active))
    return [index in chosen for index in range(len(context.tokens))]


def fuzzing_score(client: ChatModel, label: str, activating: Sequence[Context], *, seed: int = 0,
                  batch_size: int = 5) -> Score:
    """Are the marked tokens the ones the latent fires on? Half the contexts are marked right, half wrongly."""
    rng = random.Random(seed)
    order = list(range(len(activating)))
    rng.shuffle(order)
    shown: list[tuple[str, bool]] = []
    for position, index in enumerate(order):
        context = activating[index]
        right = [value > 0 for value in context.activations]
        wrong = _wrong_marks(context, rng) if position % 2 else None
        if not any(right):
            continue
        shown.append((render(context.tokens, wrong), False) if wrong is not None
                     else (render(context.tokens, right), True))
    rng.shuffle(shown)
    system = (f"You check a description of a language-model feature. In each excerpt some tokens are marked "
              f"{OPEN}like this{CLOSE}. Say whether the marked tokens are the ones the feature described is active "
              "on: 1 if they are, 0 if not.")
    return _score(client, "fuzzing", FUZZING_VERSION, system, label, shown, batch_size)
