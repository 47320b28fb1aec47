"""Activation extraction: run a tokenized dataset through a model and store hook-point activations."""
