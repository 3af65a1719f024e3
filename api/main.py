"""The service for process managers: ``uvicorn --factory api.main:service`` builds it from ``SIJILL_*``.

`sijill up` uses it to run several service processes (``SIJILL_API_WORKERS``) on one port; they
share the database, and the pipeline's leases let one of them at a time batch for an agency.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from ledger.settings import Settings


def service() -> FastAPI:
    """The service, configured from the environment."""
    return create_app(Settings())
