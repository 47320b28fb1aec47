"""What the model host runs for training: the estimate's timing of a few real SAE steps (never in the server)."""

from __future__ import annotations

from typing import Any

from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.estimate import measure_step_seconds
from mistudio.platform.host.child import HostContext
from mistudio.platform.host.registry import host_handler

CALIBRATE = "training.calibrate"


@host_handler(CALIBRATE)
def calibrate(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Seconds per optimizer step of an SAE with this config and batch on this device."""
    seconds = measure_step_seconds(SAEConfig.from_dict(payload["config"]), payload["batch_tokens"],
                                   payload["device"])
    return {"seconds_per_step": seconds}
