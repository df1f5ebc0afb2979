"""The FastAPI application factory: `uvicorn api.app:create_app --factory`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis
import redis.asyncio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from api import dashboard
from api.body_limit import BodyLimitMiddleware
from api.errors import add_exception_handlers, error_response
from api.openapi import load_openapi
from api.routes import auth, grids, v1, v2
from api.store_reads import AsyncStoreReads
from evalbatch.settings import Settings, get_settings
from evalbatch.store import Store

ASYNC_REDIS_RETRIES = 3


def open_async_redis(url: str) -> redis.asyncio.Redis:
    """An asyncio Redis client that retries a command on a new connection when a pooled one was dropped (Redis
    restarted): made from a URL it would retry nothing. The API sends reads on it, and the rate-limit counter,
    for which a call counted twice when a reply was lost is harmless."""
    retry = Retry(ExponentialWithJitterBackoff(base=0.01, cap=1.0), retries=ASYNC_REDIS_RETRIES)
    return redis.asyncio.Redis.from_url(url, retry=retry)


def freeze_startup_objects() -> None:
    """Leave what the process built at startup (modules, the app, its routes), which lives as long as the process,
    out of the cyclic garbage collector: its full collections would otherwise walk some 150k objects, pauses of
    ~100 ms that made the p99 latency under load. Once per process, after collecting what is garbage already."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the lifespan opens the Redis clients into `app.state` (a blocking one for the service, an
    asyncio one for the reads of the hot endpoints) and freezes the startup objects."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = redis.Redis.from_url(settings.redis_url)
        async_client = open_async_redis(settings.redis_url)
        app.state.redis = client
        app.state.store = Store(client)
        app.state.async_redis = async_client
        app.state.reads = AsyncStoreReads(async_client)
        freeze_startup_objects()
        try:
            yield
        finally:
            await async_client.aclose()
            client.close()

    app = FastAPI(
        title="evalbatch Batch Processing API",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.openapi = load_openapi  # type: ignore[method-assign]  # serve the contract file itself
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    add_exception_handlers(app)

    app.include_router(auth.router)
    app.include_router(v1.v1_router(), prefix=v1.PREFIX)
    app.include_router(grids.grids_router(), prefix=v1.PREFIX)
    app.include_router(v2.v2_router(), prefix=v2.PREFIX)
    app.include_router(grids.grids_router(), prefix=v2.PREFIX)
    app.include_router(dashboard.router)  # static pages, not part of the API contract

    @app.get("/health", tags=["health"], summary="Liveness: Redis answers")
    async def health(request: Request) -> Any:
        try:
            await request.app.state.async_redis.ping()
        except redis.RedisError as exc:
            return error_response(503, "COMMON_EXCEPTION", f"Redis is not available: {exc}")
        return JSONResponse({"status": "ok"})

    return app
