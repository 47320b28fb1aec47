"""What a training run will cost before it starts: memory (counted) and time per step (measured).

Memory counts what a step holds: weights, their gradients and Adam's two moments (4× the parameters), the encoder's
pre-activations for the batch ([batch × width], twice for the dense architectures, whose latents and gradients are
dense too), and the shuffle buffer of input activations. Time is measured: a few real optimizer steps of an SAE of
the same shape on random data, on the device the run will use.
"""

from __future__ import annotations

import time

import torch

from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import K_ARCHITECTURES, SAEConfig
from mistudio.lens.sae.losses import StepInput, training_step

FLOAT_BYTES = 4


def parameter_count(config: SAEConfig) -> int:
    d_in, d_sae, d_out = config.d_in, config.d_sae, config.d_out or config.d_in
    extra = {"gated": 2 * d_sae, "jumprelu": d_sae}.get(config.architecture, 0)
    return d_in * d_sae + d_sae * d_out + d_sae + d_out + extra


def memory_bytes(config: SAEConfig, batch_tokens: int, buffer_tokens: int = 262_144) -> int:
    """Peak bytes a step of this SAE holds (see the module docstring); the data buffer is shared by a sweep."""
    state = 4 * parameter_count(config) * FLOAT_BYTES
    dense_copies = 1 if config.architecture in K_ARCHITECTURES else 4
    batch = batch_tokens * config.d_sae * dense_copies * FLOAT_BYTES
    return state + batch + buffer_bytes(config, buffer_tokens)


def buffer_bytes(config: SAEConfig, buffer_tokens: int = 262_144) -> int:
    width = config.d_in + (config.d_out if config.is_transcoder else 0)
    return 2 * buffer_tokens * width * FLOAT_BYTES  # the group being read and the one being served


def checkpoint_bytes(config: SAEConfig) -> int:
    """One checkpoint of one SAE: weights and Adam's two moments."""
    return 3 * parameter_count(config) * FLOAT_BYTES


def measure_step_seconds(config: SAEConfig, batch_tokens: int, device: str = "cpu", steps: int = 3) -> float:
    """Median seconds of an optimizer step of an SAE of this shape on random data (after one warm-up step)."""
    sae = SparseAutoencoder(SAEConfig.from_dict({**config.to_dict(), "hook_point": None,
                                                 "target_hook_point": None}), device=device)
    optimizer = torch.optim.Adam(sae.parameters(), lr=1e-4)
    x = torch.randn(batch_tokens, config.d_in, device=device)
    target = x if not config.is_transcoder else torch.randn(batch_tokens, config.d_out, device=device)
    times = []
    for _ in range(steps + 1):
        started = time.perf_counter()
        output = training_step(sae, StepInput(x, target, 1.0))
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - started)
    return sorted(times[1:])[len(times[1:]) // 2]
