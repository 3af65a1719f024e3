"""The audit report people read, in Markdown, from the report programs read."""

from __future__ import annotations

from typing import Any


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def describe_checked(checked: dict[str, int]) -> str:
    """What an audit compared, in words: "12 contract reads, 2 store batches"."""
    return ", ".join(f"{count:,} {what.replace('_', ' ')}" for what, count in checked.items()) or "nothing"


def render_markdown(report: dict[str, Any]) -> str:
    """A Markdown rendering of an audit report."""
    checkpoint = report["checkpoint"]
    verdict = "No violation or difference found." if report["ok"] else f"{len(report['findings'])} finding(s)."
    lines = [
        "# Sijill audit report",
        "",
        f"Registry `{report['registry']}` on chain {report['chain_id']}, blocks {report['from_block']} to "
        f"{report['to_block']}: {report['events_replayed']} events replayed, {checkpoint['event_count']} in all.",
        "",
        f"**{verdict}**",
        "",
        f"Compared: {describe_checked(report.get('checked', {}))}.",
        "",
        f"Checkpoint: block {checkpoint['block_number']} (`{checkpoint['block_hash']}`), events root "
        f"`{checkpoint['events_root']}`, signed by auditor `{checkpoint['auditor']}`.",
        "",
        "## Findings",
        "",
    ]
    findings = report["findings"]
    lines += (
        _table(
            ["kind", "rule", "what", "evidence"],
            [[f["kind"], f["rule"], f["message"], f["evidence"]] for f in findings],
        )
        if findings
        else ["None."]
    )
    totals = report["totals"]
    lines += ["", "## Agencies", ""]
    lines += _table(
        ["agency", "name", "counts"],
        [
            [agency, data.get("name"), {k: v for k, v in data.items() if k != "name"}]
            for agency, data in totals["agencies"].items()
        ],
    )
    lines += ["", "## Documents per type", ""]
    types = totals["document_types"]
    lines += _table(["type", "documents"], [[k, v] for k, v in types.items()]) if isinstance(types, dict) else [types]
    lines += ["", "## Documents per month", ""]
    lines += _table(["month", "documents"], [[k, v] for k, v in totals["documents_per_month"].items()])
    lines += ["", "## Revocations", ""]
    lines += (
        _table(
            ["hash", "scope", "agency", "by", "reason", "block", "transaction"],
            [
                [r["hash"], r["scope"], r["agency"], r["by"], r["reason"], r["block"], r["transaction"]]
                for r in report["revocations"]
            ],
        )
        if report["revocations"]
        else ["None."]
    )
    lines += ["", "## Key changes", ""]
    lines += _table(
        ["key", "agency", "change", "valid until", "block"],
        [[k["key"], k["agency"], k["change"], k.get("valid_until"), k["block"]] for k in report["key_changes"]],
    )
    return "\n".join(lines) + "\n"
