"""Label scoring math and answer parsing: balanced accuracy against hand-counted confusion matrices, detection and
fuzzing with a scripted chat model whose every verdict is known, garbage answers counted as wrong, and the
explainer's prompt and label parsing."""

from __future__ import annotations

import re

import pytest

from mistudio.lens.features.explainer import Context, Unlabelled, explain, explanation_prompt, parse_label, render
from mistudio.lens.features.scoring import balanced_accuracy, detection_score, fuzzing_score, parse_verdicts


class Scripted:
    """A chat model that answers each prompt by a rule the test chooses, recording what it was asked."""

    name = "scripted"

    def __init__(self, answer):  # noqa: ANN001 — a test helper
        self.answer, self.prompts = answer, []

    def chat(self, messages, max_tokens):  # noqa: ANN001
        self.prompts.append(messages)
        return self.answer(messages[-1]["content"])


def _excerpts(prompt: str) -> list[str]:
    return re.findall(r"^\d+\. (.*)$", prompt, re.MULTILINE)


@pytest.mark.parametrize(("truth", "predictions", "expected"), [
    # 3 positives (2 right), 2 negatives (1 right): (2/3 + 1/2) / 2
    ([True, True, True, False, False], [True, True, False, False, True], (2 / 3 + 1 / 2) / 2),
    # an unparsed item is wrong whatever its class: positives 1/2, negatives 2/2
    ([True, True, False, False], [True, None, False, False], (1 / 2 + 1) / 2),
    # everything "yes" on a 1:3 mix: plain accuracy would be 0.25, balanced 0.5
    ([True, False, False, False], [True, True, True, True], 0.5),
    # one class only: the rate of that class
    ([False, False, False], [False, True, None], 1 / 3),
    ([], [], None),
])
def test_balanced_accuracy_matches_hand_counted_rates(truth, predictions, expected) -> None:  # noqa: ANN001
    result = balanced_accuracy(truth, predictions)
    assert result is None if expected is None else result == pytest.approx(expected)


@pytest.mark.parametrize(("answer", "count", "expected"), [
    ("[1, 0, 1]", 3, [True, False, True]),
    ("Sure! Here you go:\n[yes, no]", 2, [True, False]),
    ("1. yes\n2. no\n3. yes", 3, [True, False, True]),
    ("1 0 0 1", 4, [True, False, False, True]),
    ("[1, 0]", 3, [None, None, None]),  # wrong length
    ("The cat sat on the mat.", 2, [None, None]),
    ("", 1, [None]),
    ("[maybe, 1]", 2, [None, None]),
])
def test_verdicts_are_read_from_common_answer_shapes_and_garbage_is_unparsed(answer, count, expected) -> None:  # noqa: ANN001
    assert parse_verdicts(answer, count) == expected


ACTIVE = [Context(["the", " king", " rode"], [0.0, 2.0, 0.0]), Context([" a", " king", "!"], [0.0, 1.5, 0.0]),
          Context(["King", " of", " old"], [3.0, 0.0, 0.0]), Context([" my", " king", " said"], [0.0, 0.5, 0.0])]
QUIET = [Context(["the", " river", " ran"], [0, 0, 0]), Context([" bread", " and", " salt"], [0, 0, 0]),
         Context([" night", " fell", "."], [0, 0, 0])]


def test_detection_score_of_a_perfect_and_of_an_always_yes_classifier() -> None:
    perfect = Scripted(lambda prompt: str([int("king" in text.lower()) for text in _excerpts(prompt)]))
    score = detection_score(perfect, "the word king", ACTIVE, QUIET, batch_size=3)
    assert score.balanced_accuracy == 1.0 and len(score.items) == 7 and score.unparsed == 0
    assert sum(item.truth for item in score.items) == 4
    assert len(perfect.prompts) == 3  # batches of 3, 3 and 1
    always = Scripted(lambda prompt: str([1] * len(_excerpts(prompt))))
    assert detection_score(always, "anything", ACTIVE, QUIET).balanced_accuracy == 0.5


def test_fuzzing_marks_half_the_contexts_wrongly_and_scores_the_verdicts() -> None:
    # Right when the marked span is a "king": the correct marks are always on a king here, the wrong ones never.
    judge = Scripted(lambda prompt: str([int(bool(re.search(r"<<\s*kings?\s*>>", text, re.IGNORECASE)))
                                         for text in _excerpts(prompt)]))
    score = fuzzing_score(judge, "the word king", ACTIVE, seed=3, batch_size=10)
    assert [item.truth for item in score.items].count(True) == 2
    assert [item.truth for item in score.items].count(False) == 2
    assert score.balanced_accuracy == 1.0
    wrong = [item.text for item in score.items if not item.truth]
    assert all("<<" in text and not re.search(r"<<\s*kings?\s*>>", text, re.IGNORECASE) for text in wrong)
    garbage = Scripted(lambda prompt: "I think it is about royalty.")
    failed = fuzzing_score(garbage, "the word king", ACTIVE)
    assert failed.unparsed == 4 and failed.balanced_accuracy == 0.0


def test_render_merges_adjacent_marks() -> None:
    assert render(["a", " b", " c", " d"], [False, True, True, False]) == "a<< b c>> d"
    assert render(["a", " b"], [True, True]) == "<<a b>>"


def test_the_explainer_marks_active_tokens_and_reads_the_label_line() -> None:
    prompt = explanation_prompt(ACTIVE[:2], ACTIVE[3:])
    assert "the<< king>> rode" in prompt[-1]["content"] and "3. " in prompt[-1]["content"]
    client = Scripted(lambda prompt: 'Label: "References to a king".\nBecause...')
    explanation = explain(client, ACTIVE)
    assert (explanation.text, explanation.model, explanation.prompt_version) == \
        ("References to a king", "scripted", "explain-v1")
    assert parse_label("\n\n**Feature:** royalty") == "royalty"
    assert parse_label("42\n...") is None
    with pytest.raises(Unlabelled, match="answered no label"):
        explain(Scripted(lambda prompt: "!!!"), ACTIVE)


def test_a_client_that_continues_answers_gets_the_list_begun_and_a_short_budget() -> None:
    asked = []

    class Continuing(Scripted):
        continues_answers = True

        def chat(self, messages, max_tokens):  # noqa: ANN001
            asked.append((messages[-1], max_tokens))
            count = len(_excerpts(messages[-2]["content"]))
            return "[" + ", ".join("1" if index % 2 == 0 else "0" for index in range(count))  # no closing bracket

    score = detection_score(Continuing(None), "the word king", ACTIVE[:2], QUIET[:1], batch_size=3)
    assert asked == [({"role": "assistant", "content": "["}, 6)]
    assert score.unparsed == 0 and len(score.items) == 3
