"""`sijill`: run the service, manage agencies and keys, issue, revoke and verify."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from ledger.audit.checkpoint import Checkpoint, countersigned, load_or_create_key
from ledger.audit.report import describe_checked
from ledger.documents.jsonsafe import loads
from ledger.documents.wrap import obfuscate as obfuscate_document
from ledger.domain import ReasonCode, normalize_hash
from ledger.errors import InvalidRequestError, SijillError
from ledger.settings import Settings
from ledger.usecases.actors import ADMIN, Actor
from ledger.usecases.agencies import add_issuer_key, register_agency, rotate_issuer_keys, set_key_valid_until
from ledger.usecases.audit import export_events, run_audit, verify_checkpoint
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import create_api_key, list_api_keys, parse_scopes, revoke_api_key
from ledger.usecases.issuance import IssueRequest, accept_documents, issue_documents
from ledger.usecases.setup import ensure_deployment, seed_demo
from ledger.usecases.sharing import certificate_pdf, erase_document, verification_qr, verify_file
from ledger.usecases.status import Action, change_status, get_record
from ledger.usecases.worker import PipelineWorker
from ledger.verification import Outcome, VerificationResult, VerificationStatus

app = typer.Typer(
    help="Sijill: issue, revoke and verify government documents on a permissioned ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
agency_app = typer.Typer(help="Agencies (admin).", no_args_is_help=True)
audit_app = typer.Typer(
    help="Replay the ledger from the chain, check every rule, sign checkpoints.", no_args_is_help=True
)
key_app = typer.Typer(help="Issuer keys (admin).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys with scopes (admin): tokens are shown once and kept only as hashes.")
app.add_typer(agency_app, name="agency")
app.add_typer(key_app, name="key")
app.add_typer(apikey_app, name="apikey")
app.add_typer(audit_app, name="audit")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

STATUS_STYLE = {
    VerificationStatus.VALID: "bold green",
    VerificationStatus.REVOKED: "bold red",
    VerificationStatus.SUSPENDED: "bold yellow",
    VerificationStatus.EXPIRED: "bold yellow",
    VerificationStatus.TAMPERED: "bold red",
    VerificationStatus.NOT_ISSUED: "bold red",
    VerificationStatus.UNKNOWN_ISSUER: "bold red",
}


@contextmanager
def _ledger() -> Iterator[Ledger]:
    """A `Ledger` from the environment; Sijill errors become a message and exit code 2."""
    try:
        ledger = Ledger(Settings())
    except SijillError as error:
        err.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(2) from error
    try:
        yield ledger
    except SijillError as error:
        err.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(2) from error
    finally:
        ledger.close()


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidRequestError(f"no file {path}") from None


def _read_json(path: Path) -> Any:
    """A JSON file, read with the same nesting guard as every JSON the service accepts."""
    return loads(_read_file(path), what=str(path))


def _write_json(data: Any, path: Path | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if path is None:
        sys.stdout.write(text + "\n")
    else:
        path.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {path}")


def _actor(agency: str | None, admin: bool) -> Actor:
    if admin == (agency is not None):
        raise InvalidRequestError("act either as an agency (--agency ID) or as the admin (--admin)")
    return ADMIN if admin else Actor(agency_id=agency)


# --- running ---------------------------------------------------------------------


@app.command()
def up(
    chain: Annotated[bool, typer.Option(help="Start a local Anvil chain (off: use SIJILL_RPC_URL as it is)")] = True,
) -> None:
    """Start the chain, deploy the registry once, seed the demo agency (development) and serve the API."""
    import uvicorn

    from api.app import create_app
    from api.server import serve, uvicorn_options
    from ledger.chain.anvil import AnvilProcess

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    anvil = None
    with _ledger() as ledger:
        if chain:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            anvil = AnvilProcess(
                port=settings.anvil_port,
                state_file=settings.data_dir / "chain" / "anvil-state.json",
                log_file=settings.data_dir / "anvil.log",
            ).start()
            err.print(f"chain: Anvil at {anvil.url} (state in {settings.data_dir / 'chain'})")
        try:
            record = ensure_deployment(ledger, redeploy_if_lost=settings.development)
            err.print(f"registry: {record.address} on chain {record.chain_id}")
            if settings.development and settings.seed_demo and seed_demo(ledger):
                err.print(f"demo agency '{settings.demo_agency_id}' seeded with an issuer key")
            err.print(f"API: http://{settings.api_host}:{settings.api_port}  (docs at /docs)")
            if settings.api_workers > 1:  # processes of their own, each building the service from SIJILL_*
                serve(
                    host=settings.api_host,
                    port=settings.api_port,
                    workers=settings.api_workers,
                    forwarded_allow_ips=settings.forwarded_allow_ips,
                )
            else:
                uvicorn.run(
                    create_app(ledger=ledger),
                    host=settings.api_host,
                    port=settings.api_port,
                    log_level="info",
                    **uvicorn_options(settings.forwarded_allow_ips),
                )
        finally:
            if anvil is not None:
                anvil.stop()


@app.command()
def deploy(
    force: Annotated[bool, typer.Option(help="Deploy a new registry even if one is recorded")] = False,
) -> None:
    """Deploy the registry once and write the deployment record; later runs reuse it."""
    with _ledger() as ledger:
        if force and ledger.settings.deployment_path.exists():
            ledger.settings.deployment_path.unlink()
        record = ensure_deployment(ledger, redeploy_if_lost=False)
        out.print(f"registry {record.address} on chain {record.chain_id}, block {record.block_number}")


# --- agencies and keys -------------------------------------------------------------


@agency_app.command("add")
def agency_add(
    agency_id: str,
    name: str,
    name_ar: Annotated[str | None, typer.Option(help="The agency's name in Arabic")] = None,
    domain: Annotated[str | None, typer.Option(help="Domain of the agency's DNS-TXT identity record")] = None,
) -> None:
    """Register an agency on chain; prints its API token once."""
    with _ledger() as ledger:
        registered = register_agency(ledger, agency_id, name, name_ar, domain=domain)
        tx = registered.receipt.tx_hash if registered.receipt else "already on chain"
        out.print(f"agency '{agency_id}' registered (tx {tx})")
        out.print(f"API token (shown once; scopes issue, revoke, audit): {registered.token}")


@agency_app.command("list")
def agency_list() -> None:
    """List the agencies and their issuer keys."""
    with _ledger() as ledger:
        table = Table("agency", "name", "keys")
        for row in ledger.store.list_agencies():
            keys = ", ".join(key.address for key in ledger.store.keys_of(row.id))
            table.add_row(row.id, row.name, keys or "-")
        out.print(table)


@key_app.command("add")
def key_add(
    agency_id: str,
    valid_from: Annotated[int, typer.Option(help="Unix time the key starts, 0 for now")] = 0,
    valid_until: Annotated[int, typer.Option(help="Unix time the key ends, 0 for no end")] = 0,
) -> None:
    """Create an issuer key for an agency and authorize it on chain."""
    with _ledger() as ledger:
        row = add_issuer_key(ledger, agency_id, valid_from=valid_from, valid_until=valid_until)
        out.print(f"issuer key {row.address} added for '{agency_id}'")


@key_app.command("retire")
def key_retire(
    address: str,
    valid_until: Annotated[int | None, typer.Option(help="Unix time the key ends; omitted, now")] = None,
) -> None:
    """Retire a key (what it issued stays valid)."""
    with _ledger() as ledger:
        row = set_key_valid_until(ledger, address, valid_until)
        out.print(f"issuer key {row.address} valid until {row.valid_until}")


@key_app.command("rotate")
def key_rotate(
    agency_id: str,
    overlap: Annotated[int, typer.Option(help="Seconds the old keys stay valid, for anchors already signed")] = 600,
) -> None:
    """Give an agency a new issuer key and retire the others (what they issued stays valid)."""
    with _ledger() as ledger:
        rotated = rotate_issuer_keys(ledger, agency_id, overlap_seconds=overlap)
        out.print(f"issuer key {rotated.new_key.address} added for '{agency_id}'")
        for row in rotated.retired:
            out.print(f"issuer key {row.address} valid until {row.valid_until}")


# --- API keys ------------------------------------------------------------------------


@apikey_app.command("create")
def apikey_create(
    scope: Annotated[list[str], typer.Option(help="issue, revoke, audit (agency keys); admin, audit (installation)")],
    agency: Annotated[
        str | None, typer.Option(help="The agency the key acts for; omitted, an installation key")
    ] = None,
    label: Annotated[str, typer.Option(help="A name to recognise the key by")] = "default",
) -> None:
    """Make an API key; prints its token once."""
    with _ledger() as ledger:
        issued = create_api_key(ledger, agency_id=agency, scopes=parse_scopes(scope), label=label)
        out.print(f"API key {issued.key.id} ({issued.key.scopes}) for {agency or 'the installation'}")
        out.print(f"token (shown once): {issued.token}")


@apikey_app.command("list")
def apikey_list(agency: Annotated[str | None, typer.Option(help="Only this agency's keys")] = None) -> None:
    """List the API keys (no tokens: only their hashes are kept)."""
    with _ledger() as ledger:
        table = Table("key", "agency", "label", "scopes", "created", "revoked")
        for row in list_api_keys(ledger, agency):
            revoked = row.revoked_at.isoformat() if row.revoked_at else "-"
            table.add_row(row.id, row.agency_id or "-", row.label, row.scopes, row.created_at.isoformat(), revoked)
        out.print(table)


@apikey_app.command("revoke")
def apikey_revoke(key_id: str) -> None:
    """Revoke an API key; the service refuses it from the next request."""
    with _ledger() as ledger:
        row = revoke_api_key(ledger, key_id)
        out.print(f"API key {row.id} revoked at {row.revoked_at}")


# --- documents -----------------------------------------------------------------------


def _issue_request(raw: Any, source: str) -> IssueRequest:
    if not isinstance(raw, dict) or "document_type" not in raw or "fields" not in raw:
        raise InvalidRequestError(f'{source} must hold {{"document_type": ..., "fields": {{...}}}}')
    expires = raw.get("expires_at")
    try:
        expires_at = datetime.fromisoformat(expires) if expires else None
    except (TypeError, ValueError):
        raise InvalidRequestError(f"{source}: 'expires_at' must be an ISO date-time") from None
    if expires_at is not None and expires_at.tzinfo is None:
        raise InvalidRequestError(f"{source}: 'expires_at' needs a time zone, e.g. 2030-01-01T00:00:00Z")
    return IssueRequest(document_type=raw["document_type"], fields=raw["fields"], expires_at=expires_at)


@app.command()
def issue(
    source: Annotated[
        Path, typer.Argument(help="A JSON file {document_type, fields, expires_at?}, or with --batch a folder of them")
    ],
    agency: Annotated[str, typer.Option(help="The issuing agency")],
    batch: Annotated[bool, typer.Option("--batch", help="Issue every *.json in the folder under one anchor")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where to write the wrapped documents")] = None,
    wait: Annotated[
        bool, typer.Option(help="Wait for the anchor (--no-wait: queue them for the service's worker)")
    ] = True,
) -> None:
    """Issue one document, or a folder of them under one anchor."""
    with _ledger() as ledger:
        files = sorted(source.glob("*.json")) if batch else [source]
        if batch and not files:
            raise InvalidRequestError(f"no *.json files in {source}")
        requests = [_issue_request(_read_json(path), str(path)) for path in files]
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
            _write_json(issued.documents[0], None)
            return
        target = out_dir or source
        target.mkdir(parents=True, exist_ok=True)
        for path, document in zip(files, issued.documents, strict=True):
            _write_json(document, target / f"{path.stem}.wrapped.json")


@app.command()
def status(hash_hex: Annotated[str, typer.Argument(metavar="HASH", help="A target hash, or a batch root")]) -> None:
    """Where a document is: ACCEPTED, PENDING (anchor sent) or ANCHORED, and its status on chain."""
    with _ledger() as ledger:
        _write_json(get_record(ledger, hash_hex).as_dict(), None)


@app.command()
def worker() -> None:
    """Run the issuance pipeline alone (batching and sending), beside or instead of the service's own."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with _ledger() as ledger:
        running = PipelineWorker(ledger)
        err.print(f"pipeline worker {running.owner}: batching and sending; Ctrl-C stops it")
        try:
            running.run()
        except KeyboardInterrupt:
            pass
        finally:
            running.stop()


def _status_command(action: Action) -> Callable[..., None]:
    def command(
        hash_hex: Annotated[str, typer.Argument(metavar="HASH", help="A target hash, or a batch root")],
        agency: Annotated[str | None, typer.Option(help="Act as this agency")] = None,
        admin: Annotated[bool, typer.Option("--admin", help="Act as the admin (revoke only)")] = False,
        reason: Annotated[str, typer.Option(help="Reason code, e.g. superseded, fraud")] = "unspecified",
    ) -> None:
        with _ledger() as ledger:
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


app.command("revoke")(_status_command(Action.REVOKE))
app.command("suspend")(_status_command(Action.SUSPEND))
app.command("reinstate")(_status_command(Action.REINSTATE))


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


@app.command()
def erase(
    target_hash: Annotated[str, typer.Argument(help="The document's target hash")],
    agency: Annotated[str, typer.Option(help="The issuing agency")],
) -> None:
    """Erase the service's copy of a document (content and salts), e.g. for an erasure request."""
    with _ledger() as ledger:
        wanted = normalize_hash(target_hash, "target_hash")
        erased = erase_document(ledger, Actor(agency_id=agency), wanted)
        out.print(f"{wanted}: {'erased' if erased else 'was erased already'}; the chain holds only hashes")


@app.command()
def qr(
    target_hash: Annotated[str, typer.Argument(help="The document's target hash")],
    agency: Annotated[str, typer.Option(help="The issuing agency")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write it: .png or .svg")],
) -> None:
    """Write the QR code of a document's verification link."""
    with _ledger() as ledger:
        kind = "svg" if out_file.suffix.lower() == ".svg" else "png"
        out_file.write_bytes(verification_qr(ledger, Actor(agency_id=agency), target_hash, kind))
        err.print(f"wrote {out_file}")


@app.command()
def pdf(
    target_hash: Annotated[str, typer.Argument(help="The document's target hash")],
    agency: Annotated[str, typer.Option(help="The issuing agency")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the PDF")],
) -> None:
    """Write the printable PDF of a document; the PDF carries the document and verifies by itself."""
    with _ledger() as ledger:
        out_file.write_bytes(certificate_pdf(ledger, Actor(agency_id=agency), target_hash))
        err.print(f"wrote {out_file}")


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="A wrapped document (JSON) or a Sijill PDF")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON")] = False,
) -> None:
    """Verify a wrapped document against the chain. Exit code 0 only for VALID."""
    with _ledger() as ledger:
        result = verify_file(ledger, _read_file(file)).result
        if as_json:
            _write_json(result.as_dict(), None)
        else:
            _print_verdict(result)
        if not result.valid:
            raise typer.Exit(1)


@app.command()
def obfuscate(
    file: Annotated[Path, typer.Argument(help="A wrapped document (JSON)")],
    field: Annotated[list[str], typer.Option("--field", help="A dotted field path to hide; repeat for more")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Where to write the result (default: stdout)")] = None,
) -> None:
    """Hide fields of a wrapped document; it still verifies."""
    try:
        _write_json(obfuscate_document(_read_json(file), field), out_file)
    except SijillError as error:
        err.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(2) from error


@audit_app.command("run")
def audit_run(
    folder: Annotated[Path | None, typer.Option("--dir", help="The audit folder (default: data/audit)")] = None,
    key: Annotated[Path | None, typer.Option(help="The auditor's Ed25519 key (PEM; created if missing)")] = None,
    store: Annotated[bool, typer.Option(help="Reconcile with the off-chain store")] = True,
) -> None:
    """Audit from where the last audit stopped; exit code 0 only when nothing was found."""
    with (
        _ledger() as ledger,
        Progress(
            TextColumn("replaying"), BarColumn(), TextColumn("{task.completed}/{task.total} blocks"), console=err
        ) as bar,
    ):
        task = bar.add_task("replay", total=None)
        run = run_audit(
            ledger,
            folder=folder,
            key_path=key,
            with_store=store,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    checkpoint = run.checkpoint
    out.print(
        f"blocks {run.from_block}..{run.to_block}: {run.events_replayed} events replayed, "
        f"{checkpoint.event_count} in all; root {checkpoint.events_root}"
    )
    out.print(f"compared: {describe_checked(run.checked)}")
    for finding in run.findings:
        out.print(f"[red]{finding.kind}[/red] {finding.rule}: {finding.message}")
    out.print("[green]no violation or difference[/green]" if not run.findings else f"{len(run.findings)} finding(s)")
    if run.findings:
        raise typer.Exit(1)


@audit_app.command("verify-checkpoint")
def audit_verify_checkpoint(
    file: Annotated[Path, typer.Argument(help="A checkpoint JSON file")],
    auditor: Annotated[str | None, typer.Option(help="The auditor's public key (hex) it must be signed by")] = None,
    countersign: Annotated[
        Path | None, typer.Option(help="Your own Ed25519 key (PEM): sign the checkpoint too if it holds")
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Where to write the countersigned checkpoint")] = None,
) -> None:
    """Check a checkpoint's signature and replay the chain up to it; exit code 0 only if it holds.

    With --countersign, a second auditor who found it holds signs the same state with their own key.
    """
    with _ledger() as ledger:
        checkpoint = Checkpoint.load(file)
        problems = verify_checkpoint(ledger, checkpoint, expected_auditor=auditor)
        for problem in problems:
            out.print(f"[red]{problem.kind}[/red] {problem.rule}: {problem.message}")
        if problems:
            raise typer.Exit(1)
        out.print("[green]the checkpoint holds[/green]: signature valid, chain consistent")
        if countersign is not None:
            target = out_file or file.with_name(file.stem + ".countersigned.json")
            countersigned(checkpoint, load_or_create_key(countersign)).save(target)
            out.print(f"countersigned: {target}")


@audit_app.command("export")
def audit_export(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the events")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
) -> None:
    """Export every registry event for auditors' own tools."""
    if fmt not in ("jsonl", "csv"):
        err.print("[red]error:[/red] --format is jsonl or csv")
        raise typer.Exit(2)
    with _ledger() as ledger:
        count = export_events(ledger, out_file, fmt)
        err.print(f"wrote {count} events to {out_file}")


def main() -> None:
    """Entry point of the `sijill` script."""
    app()
