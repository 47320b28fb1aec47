"""The SAE module: one encode/decode contract for every architecture, with SAELens' parameter names and shapes.

`W_enc` [d_in, d_sae], `b_enc` [d_sae], `W_dec` [d_sae, d_out], `b_dec` [d_out]; JumpReLU adds a learnt `threshold`
[d_sae], BatchTopK and Matryoshka a scalar `threshold` buffer (the inference rule they learn),
Gated replaces `b_enc` by `b_gate`, `r_mag`, `b_mag`. `encode` and `decode` take and give raw activations: the
input scale learned in training is applied inside. How each one is trained is in `lens.sae.losses`.

Inference rules (what `encode` returns, per token):
- standard: ReLU(pre)
- topk: the k largest pre-activations, ReLU'd; the rest 0
- batchtopk, matryoshka, jumprelu: pre where pre > threshold, else 0 (BatchTopK's threshold is the running
  average of the smallest value its batch rule kept, so inference needs no batch)
- gated: ReLU(magnitude pre-activation) where the gate's pre-activation > 0
"""

from __future__ import annotations

import torch
from torch import nn

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.sae.config import SAEConfig

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class SparseAutoencoder(nn.Module):
    """An SAE (or transcoder) of any architecture; build one with `SparseAutoencoder(config)`."""

    def __init__(self, config: SAEConfig, *, seed: int | None = None, device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.config = config
        d_in, d_sae, d_out = config.d_in, config.d_sae, config.d_out
        dtype = _DTYPES.get(config.dtype, torch.float32)
        self.W_enc = nn.Parameter(torch.empty(d_in, d_sae, device=device, dtype=dtype))
        self.W_dec = nn.Parameter(torch.empty(d_sae, d_out, device=device, dtype=dtype))
        self.b_dec = nn.Parameter(torch.zeros(d_out, device=device, dtype=dtype))
        if config.architecture == "gated":
            self.b_gate = nn.Parameter(torch.zeros(d_sae, device=device, dtype=dtype))
            self.r_mag = nn.Parameter(torch.zeros(d_sae, device=device, dtype=dtype))
            self.b_mag = nn.Parameter(torch.zeros(d_sae, device=device, dtype=dtype))
        else:
            self.b_enc = nn.Parameter(torch.zeros(d_sae, device=device, dtype=dtype))
        if config.architecture == "jumprelu":
            self.threshold = nn.Parameter(torch.full((d_sae,), config.jumprelu_init_threshold, device=device,
                                                     dtype=dtype))
        if config.architecture in ("batchtopk", "matryoshka"):
            self.register_buffer("threshold", torch.zeros((), device=device, dtype=dtype))
        self.initialize(seed)

    @torch.no_grad()
    def initialize(self, seed: int | None = None) -> None:
        """Decoder rows random with norm 1 ("unit") or 0.1 ("in_loss"); the encoder starts as its transpose."""
        generator = torch.Generator(device="cpu")
        generator.manual_seed(0 if seed is None else seed)
        rows = torch.randn(self.config.d_sae, self.config.d_out, generator=generator)
        rows /= rows.norm(dim=1, keepdim=True)
        if self.config.decoder_norm == "in_loss":
            rows *= 0.1
        self.W_dec.copy_(rows)
        if self.config.d_in == self.config.d_out:
            self.W_enc.copy_(rows.t())
        else:  # a transcoder's encoder reads another space: its own random directions of the same norm
            encoder = torch.randn(self.config.d_in, self.config.d_sae, generator=generator)
            self.W_enc.copy_(encoder / encoder.norm(dim=0, keepdim=True) * rows.norm(dim=1))

    # --- the contract ---------------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return self.config.d_sae

    def scaled_input(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.W_enc.dtype) * self.config.input_scale

    def encoder_input(self, scaled: torch.Tensor) -> torch.Tensor:
        return scaled - self.b_dec if self.config.subtracts_b_dec else scaled

    def pre_activations(self, scaled: torch.Tensor) -> torch.Tensor:
        """(x − b_dec)·W_enc + b_enc on an already scaled input (the gate's pre-activation for gated): [..., d_sae].

        Computed as x·W_enc + (b_enc − b_dec·W_enc): the same numbers, but b_dec's gradient is then a
        vector-matrix product instead of a second [tokens × width] × [width × d] one."""
        bias = self.b_gate if self.config.architecture == "gated" else self.b_enc
        if self.config.subtracts_b_dec:
            bias = bias - self.b_dec @ self.W_enc
        flat = scaled.reshape(-1, scaled.shape[-1])
        return torch.addmm(bias, flat, self.W_enc).reshape(*scaled.shape[:-1], self.config.d_sae)

    @property
    def jump_threshold(self) -> torch.Tensor | None:
        if self.config.architecture in ("jumprelu", "batchtopk", "matryoshka"):
            return self.threshold
        return None

    def activate(self, pre: torch.Tensor, scaled: torch.Tensor | None = None) -> torch.Tensor:
        """The inference rule on pre-activations (gated needs the scaled input for its magnitude path)."""
        architecture = self.config.architecture
        if architecture == "standard":
            return pre.relu()
        if architecture == "topk":
            values, indices = self._top_k(pre)
            return torch.zeros_like(pre).scatter_(-1, indices, values)
        if architecture == "gated":
            assert scaled is not None
            magnitude = self.encoder_input(scaled) @ (self.W_enc * self.r_mag.exp()) + self.b_mag
            return magnitude.relu() * (pre > 0)
        threshold = self.jump_threshold
        return pre.relu() * (pre > threshold)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent activations [..., d_sae] of raw activations x [..., d_in]."""
        scaled = self.scaled_input(x)
        return self.activate(self.pre_activations(scaled), scaled)

    def _top_k(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        values, indices = pre.topk(self.config.k, dim=-1, sorted=False)
        return values.relu(), indices

    def encode_sparse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A TopK SAE's latents as (values, indices) [..., k], without the dense [..., d_sae] tensor.

        `encode(x)` is zeros with these values scattered at these indices (a value may be 0: a ReLU'd negative
        pre-activation among the k largest). Only for "topk": other rules have no fixed number of active latents."""
        if self.config.architecture != "topk":
            raise InvalidArgument(f"encode_sparse is for TopK SAEs, not {self.config.architecture!r}: use encode",
                                  details={"field": "architecture"})
        return self._top_k(self.pre_activations(self.scaled_input(x)))

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """The reconstruction [..., d_out] of latent activations, in the raw activations' scale."""
        return (latents.to(self.W_dec.dtype) @ self.W_dec + self.b_dec) / self.config.output_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def decoder_norms(self) -> torch.Tensor:
        return self.W_dec.norm(dim=1)

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        """Rows of W_dec back to norm 1 (the "unit" decoder rule, after each optimizer step)."""
        self.W_dec.div_(torch.linalg.vector_norm(self.W_dec, dim=1, keepdim=True).clamp_min_(1e-8))

    @torch.no_grad()
    def remove_parallel_gradient(self) -> None:
        """Drop the part of each decoder row's gradient along the row: with unit rows it only fights the norm."""
        if self.W_dec.grad is None:
            return
        # grad − (grad·w / w·w) w, row by row, in three passes over the decoder and no [d_sae, d_out] temporaries
        # (this runs every step of a unit-decoder run)
        W, grad = self.W_dec, self.W_dec.grad  # noqa: N806
        along = torch.linalg.vecdot(grad, W) / torch.linalg.vecdot(W, W).clamp_min(1e-16)
        grad.addcmul_(along.unsqueeze(1), W, value=-1.0)

    def extra_repr(self) -> str:
        c = self.config
        k = f", k={c.k}" if c.k else ""
        return f"{c.architecture}, d_in={c.d_in}, d_sae={c.d_sae}, d_out={c.d_out}{k}"
