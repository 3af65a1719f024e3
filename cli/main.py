"""`sijill`: run the service, manage agencies and keys, issue, revoke and verify.

The entry point: it assembles the commands of the modules beside it into one Typer app,
in the order `sijill --help` lists them.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from cli import agency, apikey, audit, council, credential, doctype, documents, key, party, service, sheet

COMMANDS: dict[str, Callable[..., None]] = {
    "up": service.up,
    "deploy": service.deploy,
    "issue": documents.issue,
    "status": documents.status,
    "worker": service.worker,
    "revoke": documents.revoke,
    "suspend": documents.suspend,
    "reinstate": documents.reinstate,
    "erase": documents.erase,
    "qr": documents.qr,
    "pdf": documents.pdf,
    "verify": documents.verify,
    "obfuscate": documents.obfuscate,
}
GROUPS: dict[str, typer.Typer] = {
    "agency": agency.app,
    "key": key.app,
    "apikey": apikey.app,
    "council": council.app,
    "audit": audit.app,
    "credential": credential.app,
    "party": party.app,
    "sheet": sheet.app,
    "type": doctype.app,
}

app = typer.Typer(
    help="Sijill: issue, revoke and verify government documents on a permissioned ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for name, command in COMMANDS.items():
    app.command(name)(command)
for name, group in GROUPS.items():
    app.add_typer(group, name=name)


def main() -> None:
    """Entry point of the `sijill` script."""
    app()
