"""What an SAE's latents mean, in a notebook: streaming analysis, logit lens, neighbours, correlations, ablation.

    from mistudio.lens import features
    result = features.analyze_features(model, sae, input_ids, features.AnalysisConfig(top_k=20))
    result.examples.of(123)                      # latent 123's top examples: tokens and activations per window
    lens = features.logit_lens(model, sae)       # promoted / suppressed tokens per latent
    near = features.nearest_latents(sae, n=10)   # by decoder cosine
    features.save_features("out/", result, logit_lens=lens, neighbours=near)
    features.probe_text(model, tokenizer, sae, "your own text", latent=123)  # per token, and the top latents

`FeatureAnalysis` is the resumable form of `analyze_features` (save its state, load it, run on).
"""

from __future__ import annotations

from typing import Any

_HOMES = {
    "AnalysisConfig": "config", "InvalidAnalysisConfig": "config",
    "AnalysisProgress": "analysis", "FeatureAnalysis": "analysis", "analyze_features": "analysis",
    "Examples": "result", "FeatureAnalysisResult": "result", "LatentSummary": "result", "EXAMPLE_KINDS": "result",
    "LogitLens": "logit_lens", "logit_lens": "logit_lens", "direction_logits": "logit_lens",
    "AblationEffects": "ablation", "ablation_effects": "ablation",
    "AutomaticLabel": "labels", "automatic_label": "labels", "automatic_labels": "labels",
    "SavedFeatures": "store", "load_features": "store", "read_examples": "store", "save_features": "store",
    "Neighbours": "neighbours", "nearest_latents": "neighbours", "top_cosine": "neighbours",
    "TextProbe": "probe", "probe_text": "probe",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    # Lazy like lens itself: importing the package does not import torch.
    if name in _HOMES:
        import importlib

        value = getattr(importlib.import_module(f"mistudio.lens.features.{_HOMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mistudio.lens.features' has no attribute {name!r}")
