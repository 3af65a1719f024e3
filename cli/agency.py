"""`sijill agency`: register agencies on chain and list them (admin)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.common import open_ledger, out
from ledger.usecases.agencies import register_agency

app = typer.Typer(help="Agencies (admin).", no_args_is_help=True)


@app.command("add")
def agency_add(
    agency_id: str,
    name: str,
    name_ar: Annotated[str | None, typer.Option(help="The agency's name in Arabic")] = None,
    domain: Annotated[str | None, typer.Option(help="Domain of the agency's DNS-TXT identity record")] = None,
) -> None:
    """Register an agency on chain; prints its API token once."""
    with open_ledger() as ledger:
        registered = register_agency(ledger, agency_id, name, name_ar, domain=domain)
        tx = registered.receipt.tx_hash if registered.receipt else "already on chain"
        out.print(f"agency '{agency_id}' registered (tx {tx})")
        out.print(f"API token (shown once; scopes issue, revoke, audit): {registered.token}")


@app.command("list")
def agency_list() -> None:
    """List the agencies and their issuer keys."""
    with open_ledger() as ledger:
        table = Table("agency", "name", "keys")
        for row in ledger.store.list_agencies():
            keys = ", ".join(key.address for key in ledger.store.keys_of(row.id))
            table.add_row(row.id, row.name, keys or "-")
        out.print(table)
