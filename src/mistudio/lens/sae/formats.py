"""SAEs on disk: saved in the SAELens layout (so `sae_lens.SAE.load_from_disk` opens ours), loaded from SAELens
and sparsify folders.

Saving folds the input/output scales learned in training into the weights (W_enc·s_in, W_dec/s_out, b_dec/s_out —
the pre-activations, and so every threshold, are unchanged), as SAELens does at the end of its own training; the
saved SAE reads raw activations and says `normalize_activations: "none"`. SAELens has no inference class for
BatchTopK or Matryoshka: both are written, as SAELens writes them, as `jumprelu` with their learned threshold for
every latent. Our own config goes into `metadata.mistudio`, so loading our folder gives back the architecture it
was trained as (k, prefixes...), while SAELens reads the inference form.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from mistudio.lens.errors import InvalidArgument
from mistudio.lens.sae.architectures import SparseAutoencoder
from mistudio.lens.sae.config import SAEConfig

SAELENS_CONFIG, SAELENS_WEIGHTS, SAELENS_SPARSITY = "cfg.json", "sae_weights.safetensors", "sparsity.safetensors"
SPARSIFY_WEIGHTS = "sae.safetensors"
SPARSIFY_TENSORS = ("encoder.weight", "encoder.bias", "W_dec", "b_dec")
# SAELens reads configs of its version 6 and later as they are; older ones go through a legacy conversion.
SAELENS_FORMAT_VERSION = "6.0.0"


class UnsupportedSAEFormat(InvalidArgument):
    """A folder that is not an SAE we can read, or an SAE whose rule the target format cannot express."""

    code = "unsupported_sae_format"


def saelens_hook_name(hook_point: str | None) -> str | None:
    """`blocks.3.resid_post` → `blocks.3.hook_resid_post` (TransformerLens' name, which SAELens records); a name of
    another shape is kept as it is."""
    if not hook_point:
        return None
    parts = hook_point.split(".")
    if len(parts) == 3 and parts[0] == "blocks" and parts[1].isdigit() and not parts[2].startswith("hook_"):
        return f"blocks.{parts[1]}.hook_{parts[2]}"
    return hook_point


def hook_point_from_saelens(hook_name: str | None) -> str | None:
    if not hook_name:
        return None
    parts = hook_name.split(".")
    if len(parts) == 3 and parts[0] == "blocks" and parts[2].startswith("hook_"):
        return f"blocks.{parts[1]}.{parts[2][len('hook_'):]}"
    return hook_name


@torch.no_grad()
def _inference_weights(sae: SparseAutoencoder) -> tuple[str, dict[str, torch.Tensor], dict[str, Any]]:
    """(SAELens architecture, folded tensors, extra cfg keys) of our SAE."""
    config = sae.config
    s_in, s_out = config.input_scale, config.output_scale
    tensors = {"W_enc": sae.W_enc * s_in, "W_dec": sae.W_dec / s_out, "b_dec": sae.b_dec / s_out}
    if config.architecture == "gated":
        tensors.update(b_gate=sae.b_gate, r_mag=sae.r_mag, b_mag=sae.b_mag)
    else:
        tensors["b_enc"] = sae.b_enc.clone()
    threshold = sae.jump_threshold
    extra: dict[str, Any] = {}
    if config.architecture == "topk":
        if config.is_transcoder:
            raise UnsupportedSAEFormat("SAELens has no TopK transcoder: this transcoder can only be kept in "
                                       "miStudio's checkpoints, not exported in the SAELens layout")
        architecture = "topk"
        extra = {"k": config.k, "rescale_acts_by_decoder_norm": False}
    elif threshold is not None:
        tensors["threshold"] = threshold.expand(config.d_sae).clone()
        architecture = "jumprelu_transcoder" if config.is_transcoder else "jumprelu"
    elif config.architecture == "gated":
        if config.is_transcoder:
            raise UnsupportedSAEFormat("SAELens has no gated transcoder: export this one from its checkpoints")
        architecture = "gated"
    else:
        architecture = "transcoder" if config.is_transcoder else "standard"
    if config.is_transcoder:
        extra["d_out"] = config.d_out
    return architecture, {name: t.detach().contiguous().cpu() for name, t in tensors.items()}, extra


def save_saelens(sae: SparseAutoencoder, folder: Path | str, *, log10_sparsity: torch.Tensor | None = None,
                 metadata: dict[str, Any] | None = None) -> Path:
    """Write cfg.json, sae_weights.safetensors (and sparsity.safetensors: log10 firing frequency per latent)."""
    folder = Path(folder)
    config = sae.config
    if log10_sparsity is not None and tuple(log10_sparsity.shape) != (config.d_sae,):
        raise InvalidArgument(f"log10_sparsity has shape {tuple(log10_sparsity.shape)}; the SAE has {config.d_sae} "
                              "latents: give one value per latent", details={"field": "log10_sparsity"})
    architecture, tensors, extra = _inference_weights(sae)
    folder.mkdir(parents=True, exist_ok=True)
    ours = {**config.to_dict(), "input_scale": 1.0, "output_scale": 1.0}
    cfg = {
        "architecture": architecture, "d_in": config.d_in, "d_sae": config.d_sae, "dtype": config.dtype,
        "device": "cpu", "apply_b_dec_to_input": config.subtracts_b_dec, "normalize_activations": "none",
        "reshape_activations": "none", **extra,
        "metadata": {"sae_lens_version": SAELENS_FORMAT_VERSION, "sae_lens_training_version": SAELENS_FORMAT_VERSION,
                     "model_name": config.model_name, "hook_name": saelens_hook_name(config.hook_point),
                     "training_architecture": config.architecture, "mistudio": ours, **(metadata or {})},
    }
    if config.target_hook_point:
        cfg["metadata"]["hook_name_out"] = saelens_hook_name(config.target_hook_point)
    save_file(tensors, str(folder / SAELENS_WEIGHTS))
    (folder / SAELENS_CONFIG).write_text(json.dumps(cfg, indent=2))
    if log10_sparsity is not None:
        save_file({"sparsity": log10_sparsity.detach().float().contiguous().cpu()}, str(folder / SAELENS_SPARSITY))
    return folder


def load(folder: Path | str, device: str = "cpu") -> SparseAutoencoder:
    """An SAE from a SAELens folder (ours included) or a sparsify folder; UnsupportedSAEFormat says why not."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidArgument(f"{folder} is not a folder; give the folder holding cfg.json and the weights")
    if (folder / SAELENS_WEIGHTS).is_file() and (folder / SAELENS_CONFIG).is_file():
        sae = _load_saelens(folder)
    elif (folder / SPARSIFY_WEIGHTS).is_file() and (folder / SAELENS_CONFIG).is_file():
        sae = _load_sparsify(folder)
    else:
        raise UnsupportedSAEFormat(f"{folder} holds no SAE: expected cfg.json with {SAELENS_WEIGHTS} (SAELens) "
                                   f"or {SPARSIFY_WEIGHTS} (sparsify)")
    return sae.to(device)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except ValueError as error:
        raise UnsupportedSAEFormat(f"{path} is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise UnsupportedSAEFormat(f"{path} does not hold a JSON object")
    return value


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except SafetensorError as error:
        raise UnsupportedSAEFormat(f"{path} is not a safetensors file: {error}") from error


def _assign(sae: SparseAutoencoder, tensors: dict[str, torch.Tensor], folder: Path) -> SparseAutoencoder:
    own = sae.state_dict()
    for name in tensors:
        if name not in own:
            raise UnsupportedSAEFormat(f"{folder}: weight '{name}' has no place in a {sae.config.architecture} SAE")
    missing = set(own) - set(tensors)
    if missing:
        raise UnsupportedSAEFormat(f"{folder}: the weights lack {', '.join(sorted(missing))}")
    for name, expected in own.items():  # in the module's order, so the first mismatch named is W_enc's
        if tuple(expected.shape) != tuple(tensors[name].shape):
            raise UnsupportedSAEFormat(f"{folder}: weight '{name}' has shape {tuple(tensors[name].shape)}, the "
                                       f"config implies {tuple(expected.shape)}")
    sae.load_state_dict({name: tensor.to(own[name].dtype) for name, tensor in tensors.items()})
    return sae


def _load_saelens(folder: Path) -> SparseAutoencoder:
    cfg = _read_json(folder / SAELENS_CONFIG)
    tensors = _read_weights(folder / SAELENS_WEIGHTS)
    lacking = [key for key in ("d_in", "d_sae") if key not in cfg]
    if lacking:
        raise UnsupportedSAEFormat(f"{folder}: cfg.json lacks {', '.join(lacking)}, which every SAELens SAE has")
    metadata = cfg.get("metadata") if isinstance(cfg.get("metadata"), dict) else {}
    if cfg.get("normalize_activations", "none") not in ("none", None, False):
        raise UnsupportedSAEFormat(f"{folder}: normalize_activations is {cfg['normalize_activations']!r}; only SAEs "
                                   "whose scaling is folded into the weights ('none') can be read")
    architecture = cfg.get("architecture", "standard")
    ours = metadata.get("mistudio")
    # SAELens before 6.0 kept these at the top level (and called hook_name hook_point before that)
    hook = hook_point_from_saelens(metadata.get("hook_name") or cfg.get("hook_name") or cfg.get("hook_point"))
    # only a transcoder writes elsewhere: a target on an SAE would make ours stop subtracting b_dec, SAELens not
    target = hook_point_from_saelens(metadata.get("hook_name_out") or cfg.get("hook_name_out")) \
        if architecture.endswith("transcoder") else None
    common = {"d_in": int(cfg["d_in"]), "d_sae": int(cfg["d_sae"]), "d_out": int(cfg.get("d_out", cfg["d_in"])),
              "apply_b_dec_to_input": bool(cfg.get("apply_b_dec_to_input", True)),
              "model_name": metadata.get("model_name") or cfg.get("model_name"), "hook_point": hook,
              "target_hook_point": target, "decoder_norm": "in_loss"}
    if isinstance(ours, dict):  # one of ours: rebuild the architecture it was trained as
        sae = SparseAutoencoder(SAEConfig.from_dict(ours))
        if "threshold" in tensors and sae.config.architecture in ("batchtopk", "matryoshka"):
            # saved as SAELens' JumpReLU, one value per latent; ours is one threshold for all
            tensors["threshold"] = tensors["threshold"].reshape(-1)[0].clone()
        return _assign(sae, tensors, folder)
    if architecture == "topk":
        sae = SparseAutoencoder(SAEConfig("topk", k=int(cfg.get("k", 100)), **common))
        if cfg.get("rescale_acts_by_decoder_norm"):
            return _fold_decoder_norms(_assign(sae, tensors, folder))
        return _assign(sae, tensors, folder)
    if architecture in ("jumprelu", "jumprelu_transcoder"):
        sae = SparseAutoencoder(SAEConfig("jumprelu", **common))
    elif architecture in ("standard", "transcoder", "gated"):
        sae = SparseAutoencoder(SAEConfig("gated" if architecture == "gated" else "standard", **common))
    else:
        raise UnsupportedSAEFormat(f"{folder}: SAELens architecture {architecture!r} is not supported (supported: "
                                   "standard, topk, jumprelu, gated, transcoder, jumprelu_transcoder)")
    if architecture.endswith("transcoder"):
        sae.config.apply_b_dec_to_input = False
    return _assign(sae, tensors, folder)


@torch.no_grad()
def _fold_decoder_norms(sae: SparseAutoencoder) -> SparseAutoencoder:
    """SAELens' rescale_acts_by_decoder_norm picks the top k of pre × ‖W_dec row‖ and decodes acts / ‖W_dec row‖:
    with the norms folded into the encoder and out of the decoder, our plain top-k gives the same activations."""
    norms = sae.W_dec.norm(dim=1)
    sae.W_enc.mul_(norms)
    sae.b_enc.mul_(norms)
    sae.W_dec.div_(norms.clamp_min(1e-12)[:, None])
    return sae


def _load_sparsify(folder: Path) -> SparseAutoencoder:
    cfg = _read_json(folder / SAELENS_CONFIG)
    tensors = _read_weights(folder / SPARSIFY_WEIGHTS)
    if cfg.get("activation", "topk") != "topk":
        raise UnsupportedSAEFormat(f"{folder}: sparsify activation {cfg.get('activation')!r} is not supported "
                                   "(only topk)")
    if cfg.get("skip_connection") or "W_skip" in tensors:
        raise UnsupportedSAEFormat(f"{folder}: sparsify SAEs with a skip connection are not supported yet")
    missing = [name for name in SPARSIFY_TENSORS if name not in tensors]
    if missing:
        raise UnsupportedSAEFormat(f"{folder}: the weights lack {', '.join(sorted(missing))}")
    weight = tensors["encoder.weight"]
    # sparsify's own rules: d_in from cfg.json (else the encoder), num_latents 0 means d_in × expansion_factor,
    # k 32 by default; a transcoder writes back into a space of the same width (sparsify has no d_out)
    d_in = int(cfg.get("d_in", weight.shape[-1]))
    num_latents = int(cfg.get("num_latents") or d_in * int(cfg.get("expansion_factor", 32)))
    transcode = bool(cfg.get("transcode"))
    config = SAEConfig("topk", d_in=d_in, d_sae=num_latents, k=int(cfg.get("k", 32)), d_out=d_in,
                       apply_b_dec_to_input=not transcode,
                       decoder_norm="unit" if cfg.get("normalize_decoder", True) else "in_loss")
    if transcode:
        config.extra["transcoder"] = True
    sae = SparseAutoencoder(config)
    return _assign(sae, {"W_enc": weight.t().contiguous(), "b_enc": tensors["encoder.bias"],
                         "W_dec": tensors["W_dec"], "b_dec": tensors["b_dec"]}, folder)


def log10_frequency(fired: torch.Tensor, tokens: int) -> torch.Tensor:
    """log10(firing frequency + 1e-10) per latent, as SAELens' sparsity.safetensors holds it."""
    return (fired.double() / max(tokens, 1) + 1e-10).log10().float()


