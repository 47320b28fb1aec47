"""miStudio: a local-first studio for mechanistic interpretability of language models."""

__version__ = "0.1.0"
