"""`sijill key`: an agency's issuer keys, added, retired and rotated (admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import open_ledger, out
from ledger.usecases.agencies import add_issuer_key, rotate_issuer_keys, set_key_valid_until

app = typer.Typer(help="Issuer keys (admin).", no_args_is_help=True)


@app.command("add")
def key_add(
    agency_id: str,
    valid_from: Annotated[int, typer.Option(help="Unix time the key starts, 0 for now")] = 0,
    valid_until: Annotated[int, typer.Option(help="Unix time the key ends, 0 for no end")] = 0,
) -> None:
    """Create an issuer key for an agency and authorize it on chain."""
    with open_ledger() as ledger:
        row = add_issuer_key(ledger, agency_id, valid_from=valid_from, valid_until=valid_until)
        out.print(f"issuer key {row.address} added for '{agency_id}'")


@app.command("retire")
def key_retire(
    address: str,
    valid_until: Annotated[int | None, typer.Option(help="Unix time the key ends; omitted, now")] = None,
) -> None:
    """Retire a key (what it issued stays valid)."""
    with open_ledger() as ledger:
        row = set_key_valid_until(ledger, address, valid_until)
        out.print(f"issuer key {row.address} valid until {row.valid_until}")


@app.command("rotate")
def key_rotate(
    agency_id: str,
    overlap: Annotated[int, typer.Option(help="Seconds the old keys stay valid, for anchors already signed")] = 600,
) -> None:
    """Give an agency a new issuer key and retire the others (what they issued stays valid)."""
    with open_ledger() as ledger:
        rotated = rotate_issuer_keys(ledger, agency_id, overlap_seconds=overlap)
        out.print(f"issuer key {rotated.new_key.address} added for '{agency_id}'")
        for row in rotated.retired:
            out.print(f"issuer key {row.address} valid until {row.valid_until}")
