"""lens: miStudio's ML library, importable from a notebook with no server.

It depends only on torch, transformers, huggingface_hub, safetensors and numpy — never on FastAPI,
SQLAlchemy, Celery or a miStudio domain (tests/test_architecture.py enforces this). Long functions take
`on_progress` and `should_stop` callables instead of knowing about jobs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ModelHandle", "extract", "open_activations", "open_model"]
_HOMES = {"extract": "mistudio.lens.extraction", "open_activations": "mistudio.lens.extraction",
          "open_model": "mistudio.lens.model", "ModelHandle": "mistudio.lens.model"}


def __getattr__(name: str) -> Any:
    # Lazy, so `import mistudio.lens.hub` does not pay for importing torch (~1 s).
    if name in _HOMES:
        import importlib

        function = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = function
        return function
    raise AttributeError(f"module 'mistudio.lens' has no attribute {name!r}")
