"""The HTTP service (FastAPI). Thin routes over the use cases in `ledger.usecases`."""
