"""Sparse autoencoders in a notebook: build, train, save, load, encode, decode — no server needed.

    from mistudio.lens import sae
    model = sae.SparseAutoencoder(sae.SAEConfig("topk", d_in=576, d_sae=4608, k=32))
    result = sae.train([model], sae.TensorSource(activations), sae.TrainConfig(total_tokens=1_000_000))
    sae.save_saelens(model, "my_sae/")          # opens with sae_lens.SAE.load_from_disk
    same = sae.load("my_sae/")                  # SAELens or sparsify folders too
    latents = same.encode(activations); reconstruction = same.decode(latents)
"""

from __future__ import annotations

from typing import Any

__all__ = ["ARCHITECTURES", "ActivationSource", "ExtractionSource", "Hyperparameters", "ModelStreamSource",
           "SAEConfig", "SparseAutoencoder", "TensorSource", "TrainConfig", "TrainResult", "TrainingDiverged",
           "TrainingStopped", "evaluate_spliced", "load", "save_saelens", "train"]
_HOMES = {
    "ARCHITECTURES": "mistudio.lens.sae.config", "SAEConfig": "mistudio.lens.sae.config",
    "SparseAutoencoder": "mistudio.lens.sae.architectures",
    "ActivationSource": "mistudio.lens.sae.buffer", "ExtractionSource": "mistudio.lens.sae.buffer",
    "TensorSource": "mistudio.lens.sae.buffer", "ModelStreamSource": "mistudio.lens.sae.buffer",
    "evaluate_spliced": "mistudio.lens.sae.evaluate",
    "Hyperparameters": "mistudio.lens.sae.trainer", "TrainConfig": "mistudio.lens.sae.trainer",
    "TrainResult": "mistudio.lens.sae.trainer", "TrainingDiverged": "mistudio.lens.sae.trainer",
    "TrainingStopped": "mistudio.lens.sae.trainer", "train": "mistudio.lens.sae.trainer",
    "load": "mistudio.lens.sae.formats", "save_saelens": "mistudio.lens.sae.formats",
}


def __getattr__(name: str) -> Any:
    # Lazy like lens itself: importing the package does not import torch.
    if name in _HOMES:
        import importlib

        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mistudio.lens.sae' has no attribute {name!r}")
