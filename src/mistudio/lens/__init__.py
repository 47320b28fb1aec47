"""lens: miStudio's ML library, importable from a notebook with no server.

It depends only on torch, transformers, huggingface_hub, safetensors and numpy — never on FastAPI,
SQLAlchemy, Celery or a miStudio domain (tests/test_architecture.py enforces this). Long functions take
`on_progress` and `should_stop` callables instead of knowing about jobs.
"""
