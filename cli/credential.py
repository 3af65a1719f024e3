"""`sijill credential`: documents as W3C Verifiable Credentials, and the holder's selective disclosure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import open_ledger, out, read_json, write_json
from ledger.domain import normalize_hash
from ledger.errors import CredentialError
from ledger.usecases.actors import Actor
from ledger.usecases.credentials import credential_of
from ledger.vc.ecdsa_sd import derive_proof
from ledger.vc.loader import ContextLoader

app = typer.Typer(help="Documents as W3C Verifiable Credentials (ecdsa-sd-2023).", no_args_is_help=True)

OutFile = Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout")]


@app.command("get")
def credential_get(
    target_hash: str,
    agency: Annotated[str, typer.Option(help="The agency that issued the document")],
    out_file: OutFile = None,
) -> None:
    """The signed credential of an issued document, to hand its holder (signed on first request)."""
    with open_ledger() as ledger:
        row = credential_of(ledger, Actor(agency_id=agency), normalize_hash(target_hash, "target_hash"))
        write_json(row.credential, out_file)


@app.command("derive")
def credential_derive(
    credential_file: Path,
    disclose: Annotated[
        list[str],
        typer.Option(help="A JSON pointer of a claim to show, e.g. /credentialSubject/licenceNumber (repeatable)"),
    ],
    out_file: OutFile = None,
) -> None:
    """A copy of a credential showing only the chosen claims (and its issuer, type, validity, status
    and anchor, which are always shown). Needs no service and no chain."""
    credential = read_json(credential_file)
    if not isinstance(credential, dict):
        raise CredentialError(f"{credential_file} holds JSON, but not a credential")
    derived = derive_proof(credential, disclose, ContextLoader())
    write_json(derived, out_file)
    if out_file is not None:
        out.print(f"disclosed {len(disclose)} claim(s); everything else is hidden")
