"""`sijill council`: propose, approve and execute the council's actions, and see where they stand.

A member signs with their own key (`--key-file`, a file only its owner may read). Without one,
the service's held member keys sign (development: Anvil's dev keys; production never M of them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import open_ledger, out, write_json
from ledger.chain.signer import Signer
from ledger.council import ACTIONS
from ledger.errors import InvalidRequestError
from ledger.keys import account_from_private_key, read_key_file
from ledger.usecases.context import Ledger
from ledger.usecases.council import ProposalView, approve, execute, held_member, list_proposals, propose, status

app = typer.Typer(help="The council: M of N agencies govern the registry, after a delay.", no_args_is_help=True)

KeyFile = Annotated[Path | None, typer.Option(help="The member's private key file (owner-only); unset: a held key")]


def _signer(key_file: Path | None, ledger: Ledger, proposal_id: int | None = None) -> Signer:
    if key_file is not None:
        return account_from_private_key(read_key_file(key_file, what="council member's key"))
    return held_member(ledger, proposal_id)


def _arguments(pairs: list[str], raw: str | None) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    if raw:
        try:
            loaded = json.loads(raw)
        except ValueError as error:
            raise InvalidRequestError(f"--json is not JSON: {error}", field="json") from None
        if not isinstance(loaded, dict):
            raise InvalidRequestError("--json must be a JSON object", field="json")
        arguments.update(loaded)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InvalidRequestError(f"'{pair}' is not name=value", field="set")
        arguments[name] = int(value) if value.isdigit() and name in ("threshold", "seconds", "reason") else value
    return arguments


def _show(view: ProposalView) -> None:
    out.print(f"#{view.id} {view.state}: {view.words}")
    for member, at in sorted(view.approvals.items()):
        out.print(f"  approved by {member} at {at}")
    out.print(f"  {len(view.approvals)} of {view.threshold} approvals; expires at {view.expires_at}")
    if view.executable_at is not None:
        out.print(f"  can execute at {view.executable_at}")


@app.command("propose")
def council_propose(
    action: Annotated[str, typer.Argument(help="One of: " + ", ".join(ACTIONS))],
    set_: Annotated[list[str] | None, typer.Option("--set", help="An argument as name=value (repeatable)")] = None,
    json_: Annotated[str | None, typer.Option("--json", help="The arguments as a JSON object")] = None,
    key_file: KeyFile = None,
) -> None:
    """Propose an action, approved by the proposing member at once."""
    with open_ledger() as ledger:
        _show(propose(ledger, _signer(key_file, ledger), action, _arguments(set_ or [], json_)))


@app.command("approve")
def council_approve(proposal_id: int, key_file: KeyFile = None) -> None:
    """Approve a proposal; the M-th approval schedules it on the timelock."""
    with open_ledger() as ledger:
        _show(approve(ledger, _signer(key_file, ledger, proposal_id), proposal_id))


@app.command("execute")
def council_execute(
    proposal_id: int,
    key_file: Annotated[Path | None, typer.Option(help="Who pays for it (anyone may); unset: the operator")] = None,
) -> None:
    """Schedule an approved proposal, or carry it out once its delay passed."""
    with open_ledger() as ledger:
        sender = account_from_private_key(read_key_file(key_file, what="private key")) if key_file else ledger.admin
        _show(execute(ledger, sender, proposal_id))


@app.command("status")
def council_status(proposal_id: int, json_: Annotated[bool, typer.Option("--json", help="As JSON")] = False) -> None:
    """Where a proposal stands: its action, approvals (who, when), threshold and the time it can run."""
    with open_ledger() as ledger:
        view = status(ledger, proposal_id)
        if json_:
            write_json(view.as_dict(), None)
        else:
            _show(view)


@app.command("list")
def council_list(limit: Annotated[int, typer.Option(help="How many, newest first")] = 20) -> None:
    """The latest proposals."""
    with open_ledger() as ledger:
        for view in list_proposals(ledger, limit=limit):
            out.print(f"#{view.id} {view.state}: {view.words} ({len(view.approvals)}/{view.threshold})")
