"""`python -m mistudio.host_worker`: a model host worker for scaled mode (`MISTUDIO_MODEL_HOST=workers`).

A face like `mistudio.worker`: it registers the domains (so the host handlers of models, extraction, steering and
features are known) and serves platform's host loop over Redis. `mistudio worker --queues interactive` starts and
restarts it.
"""

from __future__ import annotations

from mistudio.config import load_settings
from mistudio.domains import register_domains
from mistudio.platform.host.child import serve_over_redis
from mistudio.platform.host.registry import registered_host_modules


def main() -> None:
    register_domains()
    serve_over_redis(load_settings(), registered_host_modules())


if __name__ == "__main__":
    main()
