"""Use cases: what the API and the CLI both call. Each takes a `Ledger` context."""
