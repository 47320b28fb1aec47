"""What the model host runs for "your own text": the analysis' model and SAE, resident, on one text.

Imported by the host process only (`mistudio.domains.HOST_MODULES`). The server resolved the ids to files
(`features.probe`); the model and the SAE are kept warm in the host's cache (the SAE under the same key steering
uses, so a feature steered and probed is loaded once). lens refuses what only the model can judge (the text's
length in tokens against the context), naming the field.
"""

from __future__ import annotations

import time
from typing import Any

from mistudio.errors import InvalidInput
from mistudio.features.probe_schemas import PROBE_HANDLER
from mistudio.lens.errors import InvalidArgument
from mistudio.lens.features.probe import probe_text
from mistudio.lens.token_text import token_text
from mistudio.models.host import resident_model
from mistudio.platform.host.child import HostContext
from mistudio.platform.host.registry import host_handler
from mistudio.training.host import resident_sae  # one SAE cache for steering and probing


@host_handler(PROBE_HANDLER)
def probe(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Per-token activations of one latent and the top latents of the text (`lens.features.probe_text`)."""
    started = time.perf_counter()
    with resident_model(ctx, payload["model"]) as (handle, _warm), \
            resident_sae(ctx, payload["sae_id"], payload["sae_path"], handle.device) as sae:
        if handle.tokenizer is None:
            raise InvalidInput(f"model {payload['model'].get('name')!r} has no tokenizer, so text cannot be encoded",
                               details={"field": "text"})
        ignore = payload["ignore_token_ids"]
        if ignore is None:  # as the analysis' first run resolves it (features.tasks._config)
            bos = getattr(handle.tokenizer, "bos_token_id", None)
            ignore = [int(bos)] if bos is not None else []
        try:
            found = probe_text(handle.model, handle.tokenizer, sae, payload["text"], latent=payload["latent"],
                               top=payload["top"], ignore_token_ids=ignore)
        except InvalidArgument as error:
            raise InvalidInput(error.message, details=error.details) from error
        texts = [token_text(handle.tokenizer, token) for token in found.token_ids]
        return {"token_ids": found.token_ids, "texts": texts, "counted": found.counted, "latent": found.latent,
                "activations": found.activations, "top_latents": found.top_latents, "top_max": found.top_max,
                "top_sum": found.top_sum, "top_position": found.top_position, "format": handle.format,
                "device": handle.device, "seconds": round(time.perf_counter() - started, 4)}
