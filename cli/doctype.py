"""`sijill type`: document types as data: register one (or its next version), list them, show one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import open_ledger, out, read_json, write_json
from ledger.usecases.document_types import document_type_versions, list_document_types, register_document_type

app = typer.Typer(help="Document types: registered as data, anchored by their definition's hash.", no_args_is_help=True)


@app.command("add")
def type_add(
    definition: Annotated[Path, typer.Argument(help="A definition: id, schema, neverHidden, layout (JSON)")],
    agency: Annotated[
        str | None, typer.Option(help="The agency that owns the type; without it, a shared type (the council)")
    ] = None,
) -> None:
    """Register a document type, or the next version of one; prints its version and definition hash."""
    with open_ledger() as ledger:
        version, receipt = register_document_type(ledger, read_json(definition), owner=agency)
        kind = version.definition
        whose = f"agency '{kind.owner}'" if kind.owner else "shared"
        done = "registered" if receipt else "registered already, the same definition"
        out.print(f"document type '{kind.id}' version {kind.version} {done} ({whose})", soft_wrap=True)
        out.print(f"definition hash: {kind.hash}", soft_wrap=True)
        if receipt is not None:
            out.print(f"transaction: {receipt.tx_hash} (block {receipt.block_number})", soft_wrap=True)


@app.command("list")
def type_list() -> None:
    """List the document types: latest version, owner, and whether the registry holds its definition."""
    with open_ledger() as ledger:
        table = Table()
        table.add_column("type", no_wrap=True)  # an id is read whole
        for column in ("version", "owner", "title", "title (Arabic)", "registered"):
            table.add_column(column)
        for version in list_document_types(ledger):
            kind, shown = version.definition, version.as_dict()
            table.add_row(
                kind.id,
                str(kind.version),
                kind.owner or "shared",
                kind.title,
                kind.title_ar,
                {True: "yes", False: "no", None: "unknown (the chain did not answer)"}[shown["registered"]],
            )
        out.print(table)


@app.command("show")
def type_show(
    type_id: str,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the JSON here instead of stdout")] = None,
) -> None:
    """Every version of a type, with its definition, hash and registration, as JSON."""
    with open_ledger() as ledger:
        write_json(
            {"id": type_id, "versions": [v.as_dict() for v in document_type_versions(ledger, type_id)]}, out_file
        )
