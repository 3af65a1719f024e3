"""`sijill key`: an agency's issuer and credential keys, added, extended, retired and rotated by its admin.

The agency's admin signs: with `--admin-key-file` an agency that holds its own admin key signs
with it; without, the admin key this installation keeps for the agency does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import open_ledger, out
from ledger.chain.signer import Signer
from ledger.keys import account_from_private_key, read_key_file
from ledger.usecases.agencies import add_issuer_key, reseal_keys, rotate_issuer_keys, set_key_valid_until
from ledger.usecases.credentials import add_credential_key, set_credential_key_valid_until

app = typer.Typer(help="Issuer keys, managed by each agency's admin.", no_args_is_help=True)

AdminKeyFile = Annotated[
    Path | None, typer.Option(help="The agency admin's private key file (owner-only); unset: the key kept here")
]


def _admin(path: Path | None) -> Signer | None:
    return account_from_private_key(read_key_file(path, what="agency admin's key")) if path else None


@app.command("add")
def key_add(
    agency_id: str,
    valid_from: Annotated[int, typer.Option(help="Unix time the key starts, 0 for now")] = 0,
    valid_until: Annotated[int, typer.Option(help="Unix time the key ends, 0 for no end")] = 0,
    admin_key_file: AdminKeyFile = None,
) -> None:
    """Create an issuer key for an agency and authorize it on chain."""
    with open_ledger() as ledger:
        admin = _admin(admin_key_file)
        row = add_issuer_key(ledger, agency_id, valid_from=valid_from, valid_until=valid_until, admin=admin)
        out.print(f"issuer key {row.address} added for '{agency_id}'")


@app.command("retire")
def key_retire(
    address: str,
    valid_until: Annotated[int | None, typer.Option(help="Unix time the key ends; omitted, now")] = None,
    admin_key_file: AdminKeyFile = None,
) -> None:
    """Retire a key (what it issued stays valid)."""
    with open_ledger() as ledger:
        row = set_key_valid_until(ledger, address, valid_until, admin=_admin(admin_key_file))
        out.print(f"issuer key {row.address} valid until {row.valid_until}")


@app.command("extend")
def key_extend(
    address: str,
    until: Annotated[int, typer.Option(help="Unix time the key's window ends now, later than today's end")],
    admin_key_file: AdminKeyFile = None,
) -> None:
    """Move the end of a key's window later."""
    with open_ledger() as ledger:
        row = set_key_valid_until(ledger, address, until, admin=_admin(admin_key_file))
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


@app.command("add-credential")
def key_add_credential(
    agency_id: str,
    valid_from: Annotated[int, typer.Option(help="Unix time the key starts, 0 for now")] = 0,
    valid_until: Annotated[int, typer.Option(help="Unix time the key ends, 0 for no end")] = 0,
    admin_key_file: AdminKeyFile = None,
) -> None:
    """Create a P-256 key that signs an agency's Verifiable Credentials and register it on chain."""
    with open_ledger() as ledger:
        admin = _admin(admin_key_file)
        row = add_credential_key(ledger, agency_id, valid_from=valid_from, valid_until=valid_until, admin=admin)
        out.print(f"credential key {row.key_id} ({row.public_key}) added for '{agency_id}'")


@app.command("retire-credential")
def key_retire_credential(
    key_id: str,
    valid_until: Annotated[int | None, typer.Option(help="Unix time the key ends; omitted, now")] = None,
    admin_key_file: AdminKeyFile = None,
) -> None:
    """Retire a credential key (the credentials it signed while valid stay valid)."""
    with open_ledger() as ledger:
        row = set_credential_key_valid_until(ledger, key_id, valid_until, admin=_admin(admin_key_file))
        out.print(f"credential key {row.key_id} valid until {row.valid_until}")


@app.command("reseal")
def key_reseal() -> None:
    """Seal again, in the current form, every kept key an earlier version sealed (safe to run twice)."""
    with open_ledger() as ledger:
        done = reseal_keys(ledger)
        out.print(
            f"sealed anew: {done.issuer_keys} issuer key(s), {done.admin_keys} agency admin key(s); "
            f"{done.current} already current"
        )
