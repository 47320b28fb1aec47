"""Steering: change what a model writes with SAE features or contrastive directions, side by side and measured.

The math is `mistudio.lens.steer`; this domain resolves stored SAEs and directions, runs comparisons and sweeps in
the model host (`steering.host`), and keeps directions, presets and the history of experiments.
"""
