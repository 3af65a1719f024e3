"""`sijill audit`: replay the registry's events, check every rule, sign, verify and export."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn

from cli.common import err, open_ledger, out
from ledger.audit.checkpoint import Checkpoint, countersigned, load_or_create_key
from ledger.audit.report import describe_checked
from ledger.usecases.audit import export_events, run_audit, verify_checkpoint

app = typer.Typer(help="Replay the ledger from the chain, check every rule, sign checkpoints.", no_args_is_help=True)


class ExportFormat(StrEnum):
    """What `sijill audit export` writes."""

    JSONL = "jsonl"
    CSV = "csv"


@app.command("run")
def audit_run(
    folder: Annotated[
        Path | None,
        typer.Option("--dir", help="The audit folder (default: audit in SIJILL_DATA_DIR, data/audit when unset)"),
    ] = None,
    key: Annotated[Path | None, typer.Option(help="The auditor's Ed25519 key (PEM; created if missing)")] = None,
    store: Annotated[bool, typer.Option(help="Reconcile with the off-chain store")] = True,
) -> None:
    """Audit from where the last audit stopped; exit code 0 only when nothing was found."""
    with (
        open_ledger() as ledger,
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


@app.command("verify-checkpoint")
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
    with open_ledger() as ledger:
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


@app.command("export")
def audit_export(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the events")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or csv")] = ExportFormat.JSONL,
) -> None:
    """Export every registry event for auditors' own tools."""
    with open_ledger() as ledger:
        count = export_events(ledger, out_file, fmt.value)
        err.print(f"wrote {count} events to {out_file}")
