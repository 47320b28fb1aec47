"""A small chat interface to the LLM that writes and scores labels, with two real implementations.

- `TransformersChat`: an opened causal LM (a `ModelHandle`'s model and tokenizer), greedy decoding through its chat
  template — SmolLM2-135M-Instruct works offline, poorly but really.
- `OpenAIChat`: any OpenAI-compatible `/chat/completions` endpoint over httpx. The API key lives only in the
  client object: it is sent as a header and never put in a message, a log line or an error.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx

from mistudio.lens.errors import InvalidArgument, NoCapacity

logger = logging.getLogger(__name__)
Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


class EndpointUnreachable(NoCapacity):
    """The LLM endpoint did not answer, or answered with an error; the message says which and what to check."""

    code = "llm_unreachable"


class ChatModel(Protocol):
    """What the explainer and the scorers need: a name to record and one chat turn. A client whose
    `continues_answers` is true continues a last "assistant" message (a prefill such as "[") instead of starting a
    new turn, and returns the answer with that prefill."""

    name: str
    continues_answers: bool

    def chat(self, messages: list[Message], max_tokens: int) -> str:
        """The assistant's reply to `messages`, at most about `max_tokens` tokens long."""
        ...


def _plain_prompt(messages: list[Message]) -> str:
    """For a tokenizer without a chat template: the turns as plain text, ending where the assistant speaks."""
    lines = [f"{message['role'].capitalize()}: {message['content']}" for message in messages]
    return "\n\n".join(lines) + "\n\nAssistant:"


class TransformersChat:
    """A local transformers causal LM as a chat model (greedy, so a label and its scores are reproducible)."""

    continues_answers = True  # a small model follows an answer format far better when its answer is begun for it

    def __init__(self, model: Any, tokenizer: Any, name: str) -> None:
        if tokenizer is None:
            raise InvalidArgument(f"model {name!r} has no tokenizer, so it cannot be asked for labels",
                                  details={"field": "local_model"})
        self.model, self.tokenizer, self.name = model, tokenizer, name

    def chat(self, messages: list[Message], max_tokens: int) -> str:
        import torch

        prefill = messages[-1]["content"] if messages and messages[-1]["role"] == "assistant" else ""
        turns = messages[:-1] if prefill else messages
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True) + prefill
        else:
            text = _plain_prompt(turns) + (" " + prefill if prefill else "")
        encoded = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        device = self.model.get_input_embeddings().weight.device
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        with torch.no_grad():
            output = self.model.generate(input_ids=encoded["input_ids"].to(device),
                                         attention_mask=encoded["attention_mask"].to(device),
                                         max_new_tokens=max_tokens, do_sample=False, pad_token_id=pad)
        answer = self.tokenizer.decode(output[0, encoded["input_ids"].shape[1]:], skip_special_tokens=True)
        return (prefill + answer).strip()


class OpenAIChat:
    """An OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp server, Ollama, …) at `base_url`."""

    continues_answers = False  # not every such API continues a last assistant message: always a new turn

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *, timeout_s: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InvalidArgument(f"endpoint must be an http:// or https:// URL; got {base_url!r}",
                                  details={"field": "endpoint"})
        if not model.strip():
            raise InvalidArgument("give the model name the endpoint serves", details={"field": "model"})
        self.base_url, self.name = base_url.rstrip("/"), model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport)

    def __repr__(self) -> str:  # the default repr would be harmless, but say plainly that the key is not in it
        return f"OpenAIChat({self.base_url!r}, model={self.name!r})"

    def chat(self, messages: list[Message], max_tokens: int) -> str:
        where = f"LLM endpoint {self.base_url}"
        try:
            response = self._client.post("/chat/completions", json={
                "model": self.name, "messages": messages, "max_tokens": max_tokens, "temperature": 0})
        except httpx.TimeoutException:
            raise EndpointUnreachable(f"{where} did not answer in time; check that it is running and reachable",
                                      details={"field": "endpoint"}) from None
        except httpx.HTTPError as error:
            raise EndpointUnreachable(f"{where} is unreachable ({type(error).__name__}); check the URL and that the "
                                      "server is running", details={"field": "endpoint"}) from None
        if response.status_code in (401, 403):
            raise EndpointUnreachable(f"{where} refused the request (HTTP {response.status_code}): check the API key "
                                      "(request api_key or the MISTUDIO_LLM_API_KEY environment variable)",
                                      details={"field": "api_key"})
        if response.status_code >= 400:
            raise EndpointUnreachable(f"{where} answered HTTP {response.status_code}: {response.text[:200]}",
                                      details={"field": "endpoint"})
        try:
            return str(response.json()["choices"][0]["message"]["content"] or "").strip()
        except (ValueError, KeyError, IndexError, TypeError):
            raise EndpointUnreachable(f"{where} answered something that is not an OpenAI chat completion: "
                                      f"{response.text[:200]!r}", details={"field": "endpoint"}) from None

    def close(self) -> None:
        self._client.close()
