"""What the model host runs for training: the estimate's timing of a few real SAE steps (never in the server); and
`resident_sae`, how any host handler keeps a stored SAE warm (steering and "your own text" share one cache entry)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig
from mistudio.lens.sae.estimate import measure_step_seconds
from mistudio.lens.sae.formats import load as load_sae
from mistudio.platform.host.child import HostContext
from mistudio.platform.host.registry import host_handler

CALIBRATE = "training.calibrate"


@host_handler(CALIBRATE)
def calibrate(ctx: HostContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Seconds per optimizer step of an SAE with this config and batch on this device."""
    seconds = measure_step_seconds(SAEConfig.from_dict(payload["config"]), payload["batch_tokens"],
                                   payload["device"])
    return {"seconds_per_step": seconds}


@contextlib.contextmanager
def resident_sae(ctx: HostContext, sae_id: str, folder: str, device: str) -> Iterator[SparseAutoencoder]:
    """The stored SAE `sae_id` (its SAELens folder) on `device`, loaded into the host's cache if absent."""
    def load() -> tuple[SparseAutoencoder, int, str]:
        sae = load_sae(folder, device)
        size = sum(p.numel() * p.element_size() for p in sae.parameters())
        return sae, size, device

    estimate = sum(f.stat().st_size for f in Path(folder).glob("*.safetensors"))
    with ctx.cache.use(f"sae:{sae_id}:{device}", load, estimate) as (sae, _warm):
        yield sae
