"""The off-chain store: agencies, keys, issued batches and documents (SQLAlchemy 2).

SQLite by default, PostgreSQL when a database URL says so; the schema is managed
by the Alembic migrations in ``ledger/store/migrations``.
"""
