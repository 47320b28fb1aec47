"""What the model host runs for the models domain: keep a model resident, and generate from it token by token.

Imported by the host process only (`mistudio.domains.HOST_MODULES`): it imports torch and transformers, which the
server's request path never does. A model is opened once per (model, format, device) through `lens.open_model`
and kept in the host's resident cache; every later request on it is warm.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from mistudio.errors import InvalidInput
from mistudio.lens import memory
from mistudio.lens.model import ModelHandle
from mistudio.models.generate_schemas import GENERATE_HANDLER, OPEN_HANDLER
from mistudio.platform.host.child import HostContext
from mistudio.platform.host.registry import host_handler


def resolve_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """`auto` device and default format made concrete here, where torch can see the devices."""
    device = spec["device"]
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInput(f"device {device!r} was asked for, but the model host sees no CUDA GPU; use cpu")
    fmt = spec.get("format") or ("bf16" if device.startswith("cuda") else "fp32")
    return {**spec, "device": device, "format": fmt}


def resident_key(spec: dict[str, Any]) -> str:
    return f"model:{spec['model_id']}:{spec['format']}:{spec['device']}"


@contextmanager
def resident_model(ctx: HostContext, spec: dict[str, Any]) -> Iterator[tuple[ModelHandle, bool]]:
    """The opened model `spec` names (`models.opening.model_open_spec`: folder, format, device, trust flag,
    fallback), loaded if absent; yields (handle, warm). The estimate that makes room comes from the config, before
    any weight is read."""
    spec = resolve_spec(spec)
    folder = Path(spec["folder"])

    def load() -> tuple[ModelHandle, int, str]:
        from mistudio.models.opening import open_model_spec  # the one way a model is opened, jobs and host alike

        timeout = spec.get("load_timeout_seconds") or ctx.settings.model_load_timeout_seconds
        with ctx.time_limit(timeout, f"loading {spec.get('name') or spec['model_id']} in the model host took more "
                                     f"than {timeout:g}s (MISTUDIO_MODEL_LOAD_TIMEOUT_SECONDS); the host restarts "
                                     "and the next request starts a new one"):
            handle = open_model_spec(spec)
        return handle, handle.footprint_bytes, handle.device

    config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
    estimate = memory.estimate_memory(memory.split_parameters(config), spec["format"], spec["device"]) \
        if config else 0
    with ctx.cache.use(resident_key(spec), load, estimate) as (handle, warm):
        yield handle, warm


@host_handler(OPEN_HANDLER)
def open_resident(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Load a model into the host (or touch it if resident): what it obtained and whether it was already warm."""
    with resident_model(ctx, payload["model"]) as (handle, warm):
        return {"warm": warm, "format": handle.format, "device": handle.device,
                "footprint_bytes": handle.footprint_bytes}


class _TokenStreamer(BaseStreamer):
    """Sends each new token's text as it is produced (`generate` calls `put` once per step).

    One event per token. The text is decoded from all new ids each step and the new part sent, so a token that is
    part of a character (byte-level BPE) sends "" and the one completing it sends the whole character, never a
    replacement mark."""

    def __init__(self, tokenizer: Any, ctx: HostContext, started: float) -> None:
        self.tokenizer, self.ctx, self.started = tokenizer, ctx, started
        self.ids: list[int] = []
        self.sent = ""
        self.prompt_seen = False
        self.first_token_seconds: float | None = None

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # the first call is the prompt
            self.prompt_seen = True
            return
        self.ids.extend(int(token) for token in value.reshape(-1).tolist())
        if self.first_token_seconds is None:
            self.first_token_seconds = time.perf_counter() - self.started
        self._send(final=False)

    def end(self) -> None:
        self._send(final=True)

    def _send(self, final: bool) -> None:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if final:  # an incomplete character at the very end: flush what decodes, under the last index again
            if text != self.sent:
                self.ctx.emit("token", {"text": text[len(self.sent):], "index": len(self.ids) - 1})
                self.sent = text
            return
        new = "" if text.endswith("\ufffd") else text[len(self.sent):]  # decoding more ids only appends
        self.ctx.emit("token", {"text": new, "index": len(self.ids) - 1})
        self.sent += new


class _StopWhenAsked(StoppingCriteria):
    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        stop = self.ctx.should_stop()
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


def prompt_ids(tokenizer: Any, prompt: str, use_chat_template: bool) -> torch.Tensor:
    """The prompt as input ids: through the tokenizer's chat template (as one user turn) or as plain text."""
    if not use_chat_template:
        return tokenizer(prompt, return_tensors="pt")["input_ids"]
    if not getattr(tokenizer, "chat_template", None):
        raise InvalidInput("this model's tokenizer has no chat template; generate without one")
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                         add_generation_prompt=True)
    # The template writes the special tokens itself (BOS included): the tokenizer must not add a second one.
    return tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]


def sampling_options(temperature: float, top_p: float) -> dict[str, Any]:
    """`generate` options: greedy at temperature 0 (the model's generation config may not turn sampling on)."""
    if temperature == 0:
        return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    return {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": None}


@host_handler(GENERATE_HANDLER)
def generate(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Generate from a prompt, streaming `token` events; the same seed gives the same text."""
    started = time.perf_counter()
    with resident_model(ctx, payload["model"]) as (handle, warm):
        loaded_seconds = time.perf_counter() - started
        tokenizer = handle.tokenizer
        ids = prompt_ids(tokenizer, payload["prompt"], payload["use_chat_template"]).to(handle.input_device)
        seed = payload["seed"] if payload["seed"] is not None else random.randrange(2**31)
        streamer = _TokenStreamer(tokenizer, ctx, started)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        torch.manual_seed(seed)  # every device's generator: sampling is a function of the seed alone
        # no_grad, not inference_mode: some quantized tensor types refuse inference tensors.
        with torch.no_grad():
            handle.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), streamer=streamer,
                                  max_new_tokens=payload["max_new_tokens"], pad_token_id=pad,
                                  stopping_criteria=StoppingCriteriaList([_StopWhenAsked(ctx)]),
                                  **sampling_options(payload["temperature"], payload["top_p"]))
        seconds = time.perf_counter() - started
        if ctx.should_stop():
            finish = "stopped"
        elif len(streamer.ids) >= payload["max_new_tokens"]:
            finish = "length"
        else:
            finish = "eos"
        return {"text": streamer.sent, "tokens": len(streamer.ids), "prompt_tokens": int(ids.shape[1]),
                "seed": seed, "finish_reason": finish, "warm": warm, "format": handle.format,
                "device": handle.device, "load_seconds": round(loaded_seconds, 4), "seconds": round(seconds, 4),
                "first_token_seconds": streamer.first_token_seconds}
