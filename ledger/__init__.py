"""Sijill: a permissioned ledger for verifiable government documents.

The package holds the core: pure document handling (`ledger.documents`,
`ledger.verification`), the chain adapter (`ledger.chain`), the off-chain store
(`ledger.store`) and the use cases (`ledger.usecases`) that the API and the CLI
call.
"""

__version__ = "0.1.0"
