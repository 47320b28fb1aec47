"""What the model host runs for extraction: the estimate's calibration, on the model kept resident there.

The server and the CLI never load a model: the estimate sends the first few tokenized sequences here, and the
forward passes run on the host's copy (loaded once, then warm for the next estimate or a generation).
"""

from __future__ import annotations

from typing import Any

from mistudio.lens.extraction_forward import measure_forward
from mistudio.models.host import resident_model
from mistudio.platform.host.child import HostContext
from mistudio.platform.host.registry import host_handler

CALIBRATE = "extraction.calibrate"


@host_handler(CALIBRATE)
def calibrate(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Time early-stopped forward passes over `sequences` with the hooks in place (`lens.extraction_forward`)."""
    with resident_model(ctx, payload["model"]) as (handle, _warm):
        timing = measure_forward(handle.model, payload["sequences"], hook_points=payload["hook_points"],
                                 samples=payload["samples"])
    return {"samples": timing.samples, "tokens": timing.tokens, "layers_run": timing.layers_run,
            "seconds": timing.seconds, "format": handle.format, "device": handle.device}
