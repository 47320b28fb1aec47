"""Host request handlers: a name and the function that answers it, registered like job kinds.

A handler runs inside the host process: `fn(ctx: HostContext, payload: dict) -> result`. Payloads and results are
plain picklable values (dicts, lists, numbers, strings, numpy arrays); events it emits go to the requester as they
happen. The composition root names the modules defining handlers; the host imports them when it starts, so the
server itself never imports torch or a handler.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mistudio.errors import InvalidInput

if TYPE_CHECKING:
    from mistudio.platform.host.child import HostContext

HostHandler = Callable[["HostContext", dict[str, Any]], Any]

_HANDLERS: dict[str, HostHandler] = {}
_HOST_MODULES: list[str] = []


def host_handler(name: str) -> Callable[[HostHandler], HostHandler]:
    """Register `fn(ctx, payload) -> result` as the answer to host requests named `name`."""

    def register(fn: HostHandler) -> HostHandler:
        existing = _HANDLERS.get(name)
        if existing is not None and existing is not fn:
            raise ValueError(f"host handler {name!r} is already registered by {existing.__module__}")
        _HANDLERS[name] = fn
        return fn

    return register


def register_host_modules(modules: Iterable[str]) -> None:
    """Name modules that define host handlers; the host process imports them when it starts (idempotent)."""
    for module in modules:
        if module not in _HOST_MODULES:
            _HOST_MODULES.append(module)


def registered_host_modules() -> list[str]:
    return list(_HOST_MODULES)


def load_host_modules(modules: Iterable[str]) -> None:
    for module in modules:
        importlib.import_module(module)


def get_handler(name: str) -> HostHandler:
    try:
        return _HANDLERS[name]
    except KeyError:
        known = ", ".join(sorted(_HANDLERS)) or "none"
        raise InvalidInput(f"the model host has no handler {name!r} (registered: {known})") from None
