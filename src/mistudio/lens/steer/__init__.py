"""Steering in a notebook: change what a model writes with SAE features or directions, compare, measure, sweep.

    from mistudio.lens import open_model, sae, steer
    handle = open_model("models/raw/smollm2")
    features = sae.load("saes/my_sae")                       # config.hook_point says where it reads
    comparison = steer.compare(handle, "Tell me about the sea", [steer.add_feature(features, 123, 4.0)],
                               steer.GenerationSettings(max_new_tokens=48, temperature=0.7, seed=1),
                               on_token=lambda event: print(event.run, event.text))
    metrics = steer.measure(handle, comparison, tokens=[" water"])
    sweep = steer.strength_sweep(handle, "Tell me about the sea", steer.add_feature(features, 123, 1.0),
                                 [0, 2, 4, 8], steer.GenerationSettings(seed=1))
    happy = steer.contrastive_direction(handle, ["I love it"], ["I hate it"], "blocks.6.resid_post")
    steer.export_control_vector([happy], "happy.gguf", model_hint=handle.layout.model_type)

Modules: `interventions` (add / clamp / ablate on positions), `apply` (them as hook functions, per batch row),
`directions` (contrastive directions, saved and loaded), `generation` (baseline and steered runs, batched and
streamed; `sampling`, `streaming`), `metrics`, `sweep`, `control_vector` (llama.cpp GGUF). Bad input raises
`lens.errors.InvalidArgument` whose details name the field.
"""

from __future__ import annotations

from typing import Any

_HOMES = {
    **dict.fromkeys(("POSITION_SCOPES", "AddDirection", "ClampFeature", "Intervention", "ablate_feature",
                     "add_feature", "clamp_feature", "decoder_direction"), "mistudio.lens.steer.interventions"),
    **dict.fromkeys(("row_steering_functions", "steering_functions", "steering_hooks"), "mistudio.lens.steer.apply"),
    **dict.fromkeys(("CoupledSampler",), "mistudio.lens.steer.sampling"),
    **dict.fromkeys(("Direction", "contrastive_direction", "load_direction", "prompt_activations",
                     "random_direction", "save_direction"), "mistudio.lens.steer.directions"),
    **dict.fromkeys(("Comparison", "Generation", "GenerationSettings", "compare", "generate", "generate_runs"),
                    "mistudio.lens.steer.generation"),
    **dict.fromkeys(("TokenEvent",), "mistudio.lens.steer.streaming"),
    **dict.fromkeys(("FeatureActivation", "SteeringMetrics", "TokenShift", "kl_divergence", "measure",
                     "next_token_log_probs", "perplexity", "teacher_forced_kl", "word_overlap"),
                    "mistudio.lens.steer.metrics"),
    **dict.fromkeys(("SweepPoint", "SweepResult", "random_counterpart", "strength_sweep"),
                    "mistudio.lens.steer.sweep"),
    **dict.fromkeys(("ControlVector", "control_vector_layer", "export_control_vector", "import_control_vector"),
                    "mistudio.lens.steer.control_vector"),
    **dict.fromkeys(("context_length", "encode_prompt"), "mistudio.lens.steer.prompts"),
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    # Lazy like lens itself: importing the package does not import torch.
    if name in _HOMES:
        import importlib

        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mistudio.lens.steer' has no attribute {name!r}")
