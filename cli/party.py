"""`sijill party`: register the relying parties that ask holders for verified documents, and list them (admin)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.common import open_ledger, out
from ledger.usecases.relying_parties import register_relying_party

app = typer.Typer(help="Relying parties (admin).", no_args_is_help=True)


@app.command("add")
def party_add(
    party_id: str,
    name: str,
    name_ar: Annotated[str, typer.Option(help="The relying party's name in Arabic")],
    redirect_uri: Annotated[
        list[str] | None, typer.Option(help="Where a holder may be sent back after answering; repeat for more")
    ] = None,
    callback_url: Annotated[str | None, typer.Option(help="Where each verified result is posted")] = None,
) -> None:
    """Register a relying party; prints its API token (scope relying-party) and callback secret once."""
    with open_ledger() as ledger:
        registered = register_relying_party(
            ledger,
            party_id=party_id,
            name=name,
            name_ar=name_ar,
            redirect_uris=list(redirect_uri or []),
            callback_url=callback_url,
        )
        out.print(f"relying party '{party_id}' registered")
        out.print(f"API token (shown once; scope relying-party): {registered.key.token}")
        if registered.callback_secret:
            out.print(f"callback secret (shown once; signs X-Sijill-Signature): {registered.callback_secret}")


@app.command("list")
def party_list() -> None:
    """List the relying parties."""
    with open_ledger() as ledger:
        table = Table("party", "name", "name (Arabic)")
        for column in ("redirect URIs", "callback"):
            table.add_column(column, overflow="fold")  # a URL is shown whole, folded over lines
        for row in ledger.presentations.parties():
            table.add_row(row.id, row.name, row.name_ar, "\n".join(row.redirect_uris) or "-", row.callback_url or "-")
        out.print(table)
