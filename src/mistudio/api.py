"""The FastAPI app: routers under /api/v1, the WebSocket, one error mapping, and the built web UI at /."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mistudio import __version__
from mistudio.config import Settings, load_settings
from mistudio.datasets.routes import router as datasets_router
from mistudio.domains import register_domains
from mistudio.errors import DatabaseUnavailable, MistudioError, PayloadTooLarge, status_of
from mistudio.extraction.routes import router as extraction_router
from mistudio.features.routes import router as features_router
from mistudio.lens.errors import LensError
from mistudio.models.generate_routes import router as generate_router
from mistudio.models.routes import router as models_router
from mistudio.platform.db_retry import database_error_reason, database_unreachable
from mistudio.platform.events import CHANNELS
from mistudio.platform.logs import request_id_var, setup_logging
from mistudio.platform.runtime import Runtime
from mistudio.steering.routes import router as steering_router
from mistudio.system.routes import router as system_router
from mistudio.templates.routes import router as templates_router
from mistudio.training.routes import router as training_router

log = logging.getLogger("mistudio.api")
API_PREFIX = "/api/v1"
# Routers of every domain, in the order they appear in the API docs; later domains append here.
ROUTERS = [system_router, models_router, generate_router, datasets_router, extraction_router, templates_router,
           training_router, features_router, steering_router]
HTTP_CODES = {400: "invalid_input", 401: "unauthorized", 403: "access_denied", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 422: "validation_error",
              429: "rate_limited", 503: "no_capacity"}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def internal_error(request_id: str | None) -> JSONResponse:
    """The 500 envelope: nothing of the error itself (it may hold paths or data), the id to find it in the log."""
    return error_response(500, "internal_error", f"internal error (request id {request_id}); see the server log")


def web_dist_dir() -> Path | None:
    """The built web UI: next to the package when installed, or web/dist in a source checkout."""
    for candidate in (Path(__file__).parent / "web_dist", Path(__file__).resolve().parents[2] / "web" / "dist"):
        if (candidate / "index.html").is_file():
            return candidate
    return None


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID, present in every log line) and logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id  # for handlers that run outside this middleware
        started = time.perf_counter()
        status_holder = {"status": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette's catch-all 500 runs outside every middleware, after this one has reset the request id;
            # answering here keeps the id in the envelope, the X-Request-ID header and the logged traceback.
            if scope["type"] != "http" or status_holder["status"]:
                raise  # a response (or a WebSocket) already under way cannot be replaced
            log.exception("unhandled error")
            await internal_error(request_id)(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
                log.info(
                    "%s %s -> %s",
                    scope["method"],
                    scope["path"],
                    status_holder["status"],
                    extra={"duration_ms": round((time.perf_counter() - started) * 1000, 1)},
                )
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int, per_path: dict[str, tuple[int, str]] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = per_path or {}  # path -> (limit, setting): uploads get a limit of their own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes, setting = self.per_path.get(scope.get("path", ""), (self.max_bytes, "MISTUDIO_MAX_REQUEST_BYTES"))
        message = f"request body is larger than the {max_bytes} byte limit ({setting})"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            return await error_response(413, "payload_too_large", message)(scope, receive, send)
        received = 0
        cut_off = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, cut_off
            incoming = await receive()
            received += len(incoming.get("body", b""))
            if received > max_bytes:
                cut_off = True
                raise PayloadTooLarge(message)  # inside the app this becomes the 413 envelope
            return incoming

        async def guarded_send(outgoing: Message) -> None:
            nonlocal response_started
            if outgoing["type"] == "http.response.start":
                if cut_off and outgoing["status"] != 413:
                    return  # a generic 500 for our own cut-off: replaced below
                response_started = True
            elif cut_off and not response_started:
                return
            await send(outgoing)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except PayloadTooLarge:
            pass
        if cut_off and not response_started:
            await error_response(413, "payload_too_large", message)(scope, receive, send)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MistudioError)
    async def domain_error(_request: Request, exc: MistudioError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(LensError)
    async def lens_error(_request: Request, exc: LensError) -> JSONResponse:
        return error_response(status_of(exc), exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(part) for part in err["loc"]), "message": err["msg"], "type": err["type"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:3])
        return error_response(422, "validation_error", f"invalid request: {summary}", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if not database_unreachable(exc):
            log.exception("unhandled database error")
            return internal_error(getattr(request.state, "request_id", None) or request_id_var.get())
        # A restart or a lost network, not a bug: the pool reconnects by itself once the database answers.
        return error_response(503, DatabaseUnavailable.code, "the database is unreachable right now "
                              f"({database_error_reason(exc)}); try again in a few seconds",
                              headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # Reached only for errors RequestContextMiddleware could not answer itself; the id is on the scope.
        log.exception("unhandled error")
        return internal_error(getattr(request.state, "request_id", None) or request_id_var.get())


def _install_web(app: FastAPI) -> None:
    dist = web_dist_dir()

    @app.get("/{path:path}", include_in_schema=False)
    async def web(path: str) -> Any:
        if path.startswith("api/"):
            return error_response(404, "not_found", f"no API route /{path}")
        if dist is None:
            return HTMLResponse(
                "<h1>miStudio</h1><p>The web UI is not built. Run <code>make run</code> "
                "(or <code>make web</code>) and reload. The API is at "
                f'<a href="{API_PREFIX}/docs">{API_PREFIX}/docs</a>.</p>',
                status_code=503,
            )
        file = (dist / path).resolve()
        if path and file.is_file() and file.is_relative_to(dist.resolve()):
            return FileResponse(file)
        return FileResponse(dist / "index.html")  # client-side routes


def _install_event_schemas(app: FastAPI) -> None:
    """Put the WebSocket's payload models and the `WsChannels` map into the OpenAPI schema's components.

    FastAPI only documents what routes return; the live events are the other half of the contract, and the
    web client's types for them are generated from here like the REST ones."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)  # the routes' schema, cached on the app; completed here once
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, event_schema in CHANNELS.json_schemas("#/components/schemas/{model}").items():
                if name in components and components[name] != event_schema:
                    raise RuntimeError(f"the event schema {name!r} differs from the REST schema of that name: "
                                       "rename the event payload model")
                components[name] = event_schema
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database is migrated and the runner started when the app starts."""
    settings = settings or load_settings()
    register_domains()  # the app is a composition root: platform learns the domains' tables and job kinds here

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.open(settings)
        runtime.start()
        app.state.runtime = runtime
        log.info("miStudio %s ready (%s runner, %s)", __version__, settings.runner_mode, runtime.engine.dialect.name)
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(
        title="miStudio API",
        version=__version__,
        description="Local-first mechanistic interpretability studio.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes, per_path={
        f"{API_PREFIX}/datasets/upload": (settings.upload_max_bytes, "MISTUDIO_UPLOAD_MAX_BYTES")})
    app.add_middleware(RequestContextMiddleware)
    _install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    _install_web(app)
    _install_event_schemas(app)
    return app


def build_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory mistudio.api:build_app_from_env`."""
    settings = load_settings()
    setup_logging(settings)
    return create_app(settings)
