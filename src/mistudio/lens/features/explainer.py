"""An LLM label for a latent from its top and interval examples, the tokens where it fires marked in the text.

Prompt version "explain-v1": a system turn saying what the examples are and asking for one short label, then the
numbered examples with each run of active tokens wrapped in << >>. The answer's first meaningful line is the label
(a "Label:" prefix, quotes and trailing punctuation dropped); an empty or useless answer raises `Unlabelled`, which
the caller records instead of storing an empty label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mistudio.lens.errors import LensError
from mistudio.lens.features.labels import MAX_LABEL_CHARS
from mistudio.lens.features.llm import ChatModel, Message

PROMPT_VERSION = "explain-v1"
OPEN, CLOSE = "<<", ">>"
_LABEL_TOKENS = 32
_PREFIX = re.compile(r"^\s*(?:\**\s*)?(?:label|answer|explanation|feature)\s*[:\-]\s*", re.IGNORECASE)


class Unlabelled(LensError):
    """The LLM's answer held no label."""

    code = "unlabelled"


@dataclass(frozen=True)
class Context:
    """A window of text: its tokens' texts and the latent's activation on each (0 where it does not fire)."""

    tokens: Sequence[str]
    activations: Sequence[float]


@dataclass(frozen=True)
class Explanation:
    text: str
    model: str
    prompt_version: str
    answer: str  # the raw reply, kept as evidence


def render(tokens: Sequence[str], marked: Sequence[bool]) -> str:
    """The text with each run of marked tokens wrapped in << >> (adjacent marks merge into one span)."""
    parts, inside = [], False
    for token, mark in zip(tokens, marked, strict=True):
        if mark and not inside:
            parts.append(OPEN)
        elif not mark and inside:
            parts.append(CLOSE)
        inside = mark
        parts.append(token)
    if inside:
        parts.append(CLOSE)
    return "".join(parts).replace("\n", " ").strip()


def render_active(context: Context) -> str:
    return render(context.tokens, [value > 0 for value in context.activations])


def explanation_prompt(top: Sequence[Context], intervals: Sequence[Context] = ()) -> list[Message]:
    """The explain-v1 messages: strongest examples first, then the weaker interval examples."""
    system = ("You are studying one feature of a language model. Below are text excerpts where the feature is "
              f"active; the tokens on which it is active are marked {OPEN}like this{CLOSE}. The first excerpts are "
              "where it is strongest, later ones where it is weaker. Describe in a few words (at most 12) what the "
              "feature responds to: a token, a topic, a grammatical role, a pattern. Reply with the label only.")
    lines = [f"{number}. {render_active(context)}"
             for number, context in enumerate([*top, *intervals], start=1)]
    return [{"role": "system", "content": system},
            {"role": "user", "content": "Excerpts:\n" + "\n".join(lines) + "\n\nLabel:"}]


def parse_label(answer: str) -> str | None:
    """The label in an answer: its first line with letters, without a "Label:" prefix, quotes or markers."""
    for line in answer.splitlines():
        text = _PREFIX.sub("", line).replace(OPEN, "").replace(CLOSE, "").strip(" \t\"'`*.")
        if re.search(r"[^\W\d_]", text):
            return text[:MAX_LABEL_CHARS]
    return None


def explain(client: ChatModel, top: Sequence[Context], intervals: Sequence[Context] = ()) -> Explanation:
    """Ask `client` for a label of the latent these examples show; Unlabelled when the answer holds none."""
    if not top:
        raise Unlabelled("the latent has no top examples (it never fired in the analysed tokens): nothing to label")
    answer = client.chat(explanation_prompt(top, intervals), _LABEL_TOKENS)
    text = parse_label(answer)
    if text is None:
        raise Unlabelled(f"{client.name} answered no label: {answer[:120]!r}")
    return Explanation(text=text, model=client.name, prompt_version=PROMPT_VERSION, answer=answer)
