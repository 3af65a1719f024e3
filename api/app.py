"""The FastAPI application factory."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.access import AccessLog
from api.limits import JsonGuard
from api.rate_limits import BucketTable, RateLimiter
from api.routes import (
    access,
    agencies,
    credentials,
    document_types,
    documents,
    governance,
    health,
    issuance_jobs,
    metrics,
    page,
    presentations,
    verify,
)
from api.schemas import ERROR_RESPONSES
from api.security import install_security_headers
from ledger import __version__
from ledger.settings import Settings
from ledger.usecases.context import Ledger
from ledger.usecases.worker import JobWorker, PipelineWorker

RECURSION_LIMIT = 5000


def create_app(settings: Settings | None = None, *, ledger: Ledger | None = None) -> FastAPI:
    """The service for `settings` (or an already built `ledger`)."""
    context = ledger or Ledger(settings or Settings())
    run_dir, counts = context.settings.run_dir, context.metrics
    # Shared by every service process of this host: a client gets its rate once, not once per process.
    # The clients' hashes are keyed with the admin token, a secret the table's file does not hold.
    secret = context.settings.admin_token.get_secret_value().encode()
    key_limiter = RateLimiter(
        context.settings.api_key_requests_per_minute,
        table=BucketTable(run_dir / "rate-api-keys", secret=secret),
        on_refusal=lambda: counts.refused("api_key"),
    )
    client_limiter = RateLimiter(
        context.settings.public_requests_per_minute,
        table=BucketTable(run_dir / "rate-addresses", secret=secret),
        on_refusal=lambda: counts.refused("address"),
    )
    # A dependency (py_ecc) raises the recursion limit to 100,000 at import; that deep, a
    # parser can overflow the C stack and kill the process before Python raises anything.
    sys.setrecursionlimit(min(sys.getrecursionlimit(), RECURSION_LIMIT))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The pipeline's worker batches queued documents and sees every anchor through to ANCHORED.
        worker = PipelineWorker(context).start() if context.settings.pipeline_worker else None
        # The issuance jobs' worker reads uploaded sheets into the queue, in a thread of its own.
        jobs = JobWorker(context).start() if context.settings.pipeline_worker else None
        # What start-up built (modules, schemas, the contract's ABI) lives as long as the service:
        # out of the cyclic collector's sight, its full collections stop walking it under load.
        gc.freeze()
        yield
        for running in (jobs, worker):
            if running is not None:
                running.stop()
        key_limiter.close()
        client_limiter.close()
        context.close()

    app = FastAPI(
        title="Sijill",
        version=__version__,
        description="Issue, revoke and verify government documents anchored on a permissioned ledger.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.ledger = context
    app.state.key_limiter = key_limiter
    app.state.client_limiter = client_limiter
    errors.install(app)
    app.add_middleware(JsonGuard)
    install_security_headers(app, context.settings.cors_origins)
    app.add_middleware(AccessLog, ledger=context)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(documents.router)
    app.include_router(verify.router)
    app.include_router(document_types.router)
    app.include_router(issuance_jobs.router)
    app.include_router(agencies.public)
    app.include_router(agencies.admin)
    app.include_router(credentials.router)
    app.include_router(credentials.admin)
    app.include_router(presentations.router)
    app.include_router(presentations.admin)
    app.include_router(governance.router)
    app.include_router(access.router)
    app.include_router(page.router)
    app.mount("/static", page.static_files(context.settings.web_dir), name="static")
    return app
