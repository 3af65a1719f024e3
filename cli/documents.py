"""Documents: issue, follow, revoke, suspend, reinstate, share, erase, verify and obfuscate them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import err, failed, open_ledger, out, read_file, read_json, write_file, write_json
from cli.sheet import issue_from_sheet
from ledger.audit.checkpoint import Checkpoint
from ledger.documents.wrap import obfuscate as obfuscate_document
from ledger.domain import ReasonCode, normalize_hash
from ledger.errors import InvalidRequestError, SijillError
from ledger.usecases.actors import ADMIN, Actor
from ledger.usecases.health import chain_health
from ledger.usecases.issuance import IssueRequest, accept_documents, issue_documents
from ledger.usecases.issue_input import IssueInput
from ledger.usecases.relying_party import TrustedLedger, check_independently
from ledger.usecases.sharing import certificate_pdf, erase_document, verification_qr
from ledger.usecases.status import Action, change_status, get_record
from ledger.usecases.verify_credential import verify_file
from ledger.verification import Outcome, VerificationResult, VerificationStatus

STATUS_STYLE = {
    VerificationStatus.VALID: "bold green",
    VerificationStatus.REVOKED: "bold red",
    VerificationStatus.SUSPENDED: "bold yellow",
    VerificationStatus.EXPIRED: "bold yellow",
    VerificationStatus.TAMPERED: "bold red",
    VerificationStatus.NOT_ISSUED: "bold red",
    VerificationStatus.UNKNOWN_ISSUER: "bold red",
}

HashArgument = Annotated[str, typer.Argument(metavar="HASH", help="A target hash, or a batch root")]
OptionalHash = Annotated[
    str | None, typer.Argument(metavar="[HASH]", help="A target hash or batch root; none: the chain's endpoints")
]
TargetHash = Annotated[str, typer.Argument(help="The document's target hash")]
IssuingAgency = Annotated[str, typer.Option(help="The issuing agency")]


def _issue_request(path: Path) -> IssueRequest:
    """The document to issue that a JSON file holds, read as `POST /v1/documents` reads its body."""
    raw = read_json(path)
    try:
        return IssueInput.parse(raw)
    except InvalidRequestError as error:
        raise InvalidRequestError(f"{path}: {error.message}", field=error.field) from None


def issue(
    source: Annotated[
        Path | None,
        typer.Argument(help="A JSON file {document_type, fields, expires_at?}, or with --batch a folder of them"),
    ] = None,
    agency: IssuingAgency = "",
    batch: Annotated[bool, typer.Option("--batch", help="Issue every *.json in the folder under one anchor")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where to write the wrapped documents")] = None,
    wait: Annotated[
        bool, typer.Option(help="Wait for the anchor (--no-wait: queue them for the service's worker)")
    ] = True,
    sheet: Annotated[
        Path | None, typer.Option("--from", help="A spreadsheet (.csv or .xlsx): issue each valid row")
    ] = None,
    document_type: Annotated[
        str | None, typer.Option("--type", help="With --from: the rows' document type (the mapping is proposed)")
    ] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="With --from: the column mapping (YAML)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --from: check every row, issue nothing (exit code 1: problems)")
    ] = False,
    report: Annotated[Path | None, typer.Option(help="With --dry-run: where to write the report (CSV)")] = None,
    results: Annotated[
        Path | None, typer.Option(help="With --from: where to write the results (default: <sheet>.results.csv)")
    ] = None,
    pdfs: Annotated[Path | None, typer.Option(help="With --from: also write every certificate to this zip")] = None,
) -> None:
    """Issue one document, or a folder of them under one anchor, or (--from) every valid row of a
    spreadsheet: the same command again resumes a job that stopped, with no row issued twice."""
    if not agency:
        raise typer.BadParameter("--agency is required", param_hint="--agency")
    if sheet is not None:
        issue_from_sheet(
            sheet,
            agency,
            document_type=document_type,
            map_file=map_file,
            dry_run_report=report,
            dry=dry_run,
            results=results,
            pdfs=pdfs,
        )
        return
    if source is None:
        raise typer.BadParameter("give a JSON file (or a folder with --batch), or --from a spreadsheet")
    with open_ledger() as ledger:
        files = sorted(source.glob("*.json")) if batch else [source]
        if batch and not files:
            raise InvalidRequestError(f"no *.json files in {source}")
        requests = [_issue_request(path) for path in files]
        if not wait:
            for accepted in accept_documents(ledger, agency, requests):
                out.print(f"accepted {accepted['signature']['targetHash']}")
            err.print("queued: `sijill status HASH` follows each one to ANCHORED")
            return
        issued = issue_documents(ledger, agency, requests)
        err.print(
            f"anchored root {issued.merkle_root} in block {issued.receipt.block_number} (tx {issued.receipt.tx_hash})"
        )
        if out_dir is None and not batch:
            write_json(issued.documents[0], None)
            return
        target = out_dir or source
        target.mkdir(parents=True, exist_ok=True)
        for path, document in zip(files, issued.documents, strict=True):
            write_json(document, target / f"{path.stem}.wrapped.json")


def status(hash_hex: OptionalHash = None) -> None:
    """Where a document is: ACCEPTED, PENDING (anchor sent) or ANCHORED, and its status on chain.
    Without a hash: the chain, each endpoint's height, lag and last error.

    A document of a FAILED batch (refused by the registry for good) is never issued: this says so
    and why.
    """
    with open_ledger() as ledger:
        write_json(get_record(ledger, hash_hex).as_dict() if hash_hex else chain_health(ledger), None)


def _actor(agency: str | None, admin: bool) -> Actor:
    if admin == (agency is not None):
        raise InvalidRequestError("act either as an agency (--agency ID) or as the admin (--admin)")
    return ADMIN if admin else Actor(agency_id=agency)


def _status_command(action: Action) -> Callable[..., None]:
    def command(
        hash_hex: HashArgument,
        agency: Annotated[str | None, typer.Option(help="Act as this agency")] = None,
        admin: Annotated[bool, typer.Option("--admin", help="Act as the admin (revoke only)")] = False,
        reason: Annotated[str, typer.Option(help="Reason code, e.g. superseded, fraud")] = "unspecified",
    ) -> None:
        with open_ledger() as ledger:
            actor = _actor(agency, admin)
            code = ReasonCode.parse(reason) if action is not Action.REINSTATE else ReasonCode.UNSPECIFIED
            change = change_status(ledger, actor, hash_hex, action, code)
            out.print(f"{change.scope} {change.hash} is now {change.status} (tx {change.receipt.tx_hash})")

    command.__doc__ = {
        Action.REVOKE: "Revoke a document or a whole batch (final).",
        Action.SUSPEND: "Suspend a document or batch until it is reinstated.",
        Action.REINSTATE: "Reinstate a suspended document or batch.",
    }[action]
    return command


revoke = _status_command(Action.REVOKE)
suspend = _status_command(Action.SUSPEND)
reinstate = _status_command(Action.REINSTATE)


def erase(target_hash: TargetHash, agency: IssuingAgency) -> None:
    """Erase the service's copy of a document (content and salts), e.g. for an erasure request."""
    with open_ledger() as ledger:
        wanted = normalize_hash(target_hash, "target_hash")
        erased = erase_document(ledger, Actor(agency_id=agency), wanted)
        out.print(f"{wanted}: {'erased' if erased else 'was erased already'}; the chain holds only hashes")


def qr(
    target_hash: TargetHash,
    agency: IssuingAgency,
    out_file: Annotated[Path, typer.Option("--out", help="Where to write it: .png or .svg")],
) -> None:
    """Write the QR code of a document's verification link."""
    with open_ledger() as ledger:
        kind = "svg" if out_file.suffix.lower() == ".svg" else "png"
        write_file(out_file, verification_qr(ledger, Actor(agency_id=agency), target_hash, kind))


def pdf(
    target_hash: TargetHash,
    agency: IssuingAgency,
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the PDF")],
) -> None:
    """Write the printable PDF of a document; the PDF carries the document and verifies by itself."""
    with open_ledger() as ledger:
        write_file(out_file, certificate_pdf(ledger, Actor(agency_id=agency), target_hash))


def _print_verdict(result: VerificationResult) -> None:
    style = STATUS_STYLE[result.status]
    out.print(f"[{style}]{result.status.value}[/{style}]  {result.summary}")
    table = Table("check", "outcome", "detail", show_header=True)
    for check in result.checks:
        colour = {Outcome.PASSED: "green", Outcome.FAILED: "red", Outcome.SKIPPED: "dim"}[check.outcome]
        table.add_row(check.name, f"[{colour}]{check.outcome.value}[/{colour}]", check.message)
    out.print(table)
    if result.anchor:
        out.print(f"anchored in block {result.anchor['block_number']}, tx {result.anchor['transaction']}")


def verify(
    file: Annotated[Path, typer.Argument(help="A wrapped document (JSON) or a Sijill PDF")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON")] = False,
    rpc: Annotated[
        list[str] | None,
        typer.Option("--rpc", help="A chain node of your choosing (repeat): no service, no database needed"),
    ] = None,
    quorum: Annotated[int, typer.Option(min=1, help="With --rpc: how many nodes must agree")] = 1,
    proof: Annotated[bool, typer.Option("--proof", help="With --rpc: check the answer with eth_getProof")] = False,
    registry: Annotated[str | None, typer.Option(help="With --rpc: the registry you trust")] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="With --rpc: an auditor's signed checkpoint: its chain, registry and block")
    ] = None,
    auditor: Annotated[str | None, typer.Option(help="The public key (hex) the checkpoint must be signed by")] = None,
) -> None:
    """Verify a wrapped document against the chain. Exit code 0 only for VALID.

    With --rpc, a relying party's own check: the nodes it names (--quorum of them agreeing,
    --proof to check the registry's answer against the block's state root), the registry it
    trusts or an auditor's checkpoint, and nothing of the installation.
    """
    if rpc:
        try:
            trusted = TrustedLedger(
                rpc_urls=tuple(rpc),
                quorum=quorum,
                proofs=proof,
                registry=registry,
                checkpoint=Checkpoint.load(checkpoint) if checkpoint else None,
                auditor=auditor,
            )
            result = check_independently(read_file(file), trusted)
        except SijillError as error:
            raise failed(error) from error
    else:
        with open_ledger() as ledger:
            result = verify_file(ledger, read_file(file)).result
    if as_json:
        write_json(result.as_dict(), None)
    else:
        _print_verdict(result)
    if not result.valid:
        raise typer.Exit(1)


def obfuscate(
    file: Annotated[Path, typer.Argument(help="A wrapped document (JSON)")],
    field: Annotated[list[str], typer.Option("--field", help="A dotted field path to hide; repeat for more")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Where to write the result (default: stdout)")] = None,
) -> None:
    """Hide fields of a wrapped document; it still verifies."""
    try:
        write_json(obfuscate_document(read_json(file), field), out_file)
    except SijillError as error:
        raise failed(error) from error
