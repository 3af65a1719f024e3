"""`sijill apikey`: API keys with scopes, made, listed and revoked (admin)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.common import open_ledger, out
from ledger.usecases.actors import Scope
from ledger.usecases.api_keys import create_api_key, list_api_keys, revoke_api_key

app = typer.Typer(help="API keys with scopes (admin): tokens are shown once and kept only as hashes.")


@app.command("create")
def apikey_create(
    scope: Annotated[
        list[Scope],
        typer.Option(
            help="issue, revoke, audit (agency keys); admin, audit, monitor (installation)", case_sensitive=False
        ),
    ],
    agency: Annotated[
        str | None, typer.Option(help="The agency the key acts for; omitted, an installation key")
    ] = None,
    label: Annotated[str, typer.Option(help="A name to recognise the key by")] = "default",
) -> None:
    """Make an API key; prints its token once."""
    with open_ledger() as ledger:
        issued = create_api_key(ledger, agency_id=agency, scopes=frozenset(scope), label=label)
        out.print(f"API key {issued.key.id} ({issued.key.scopes}) for {agency or 'the installation'}")
        out.print(f"token (shown once): {issued.token}")


@app.command("list")
def apikey_list(agency: Annotated[str | None, typer.Option(help="Only this agency's keys")] = None) -> None:
    """List the API keys (no tokens: only their hashes are kept)."""
    with open_ledger() as ledger:
        table = Table("key", "agency", "label", "scopes", "created", "revoked")
        for row in list_api_keys(ledger, agency):
            revoked = row.revoked_at.isoformat() if row.revoked_at else "-"
            table.add_row(row.id, row.agency_id or "-", row.label, row.scopes, row.created_at.isoformat(), revoked)
        out.print(table)


@app.command("revoke")
def apikey_revoke(key_id: str) -> None:
    """Revoke an API key; the service refuses it from the next request."""
    with open_ledger() as ledger:
        row = revoke_api_key(ledger, key_id)
        out.print(f"API key {row.id} revoked at {row.revoked_at}")
