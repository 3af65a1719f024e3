"""The audit: replay the registry from the chain, check every rule, reconcile, sign a checkpoint.

State lives in an audit folder of the auditor's own (default ``data/audit``):
``state.json`` (where the last audit stopped: the replayed ledger and the Merkle
accumulator), ``journal.jsonl`` (for every block with events: its hash and the event
count after it), ``checkpoints/`` and the latest reports.

The comparison with the contract (`ledger.usecases.audit_contract`), the reconciliation with
the store (`ledger.usecases.audit_store`), the export of events (`ledger.usecases.audit_export`)
and the verification of a checkpoint (`ledger.usecases.audit_verify`) live in modules of their
own, and are imported from here too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.audit.accumulator import Accumulator
from ledger.audit.checkpoint import Checkpoint, load_or_create_key, sign
from ledger.audit.replay import Finding, LedgerState, replay_page
from ledger.audit.report import render_markdown
from ledger.audit.tables import AnchorRecord, DocumentStatusRecord, Table, begin_replay, mark, marked, open_tables
from ledger.chain.events import LEAF_ENCODING, EventReader
from ledger.usecases.audit_contract import compare_with_contract
from ledger.usecases.audit_export import export_events
from ledger.usecases.audit_store import reconcile_with_store
from ledger.usecases.audit_verify import verify_checkpoint
from ledger.usecases.context import Ledger

__all__ = [
    "AuditRun",
    "Progress",
    "audit_dir",
    "build_report",
    "compare_with_contract",
    "export_events",
    "find_divergence",
    "reconcile_with_store",
    "run_audit",
    "verify_checkpoint",
]

Progress = Callable[[int, int], None]
"""Called with (blocks done, blocks to do) as pages are replayed."""


@dataclass
class AuditRun:
    """What one audit saw and concluded."""

    from_block: int
    to_block: int
    events_replayed: int
    checkpoint: Checkpoint
    findings: list[Finding] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    checked: Counter[str] = field(default_factory=Counter)
    """What the audit compared, counted as it went: `contract_reads` (each `inspect`, `isIssued`
    and `isRevoked` call), `store_batches`, `store_documents` and `chain_anchors` (each anchor
    looked up in the store)."""


@dataclass
class _Saved:
    last_block: int
    accumulator: Accumulator
    state: LedgerState
    checkpoint: Checkpoint | None


def audit_dir(ledger: Ledger) -> Path:
    """The default audit folder."""
    return ledger.settings.data_dir / "audit"


def _reader(ledger: Ledger) -> EventReader:
    return ledger.registry.events(ledger.artifact.abi)


def _load(
    folder: Path, ledger: Ledger, tables: tuple[Table[AnchorRecord], Table[DocumentStatusRecord]]
) -> _Saved | None:
    """Where the last completed audit of this chain and registry stopped, if it hashed events as we do."""
    saved = _state_file(folder, ledger)
    if saved is None or saved.get("leaf_encoding") != LEAF_ENCODING:
        return None
    checkpoint = Checkpoint.load(folder / saved["checkpoint"]) if saved.get("checkpoint") else None
    return _Saved(
        last_block=saved["last_block"],
        accumulator=Accumulator.from_json(saved["accumulator"]),
        state=LedgerState.from_json(saved["state"], anchors=tables[0], documents=tables[1]),
        checkpoint=checkpoint,
    )


def _state_file(folder: Path, ledger: Ledger) -> dict[str, Any] | None:
    path = folder / "state.json"
    if not path.exists():
        return None
    saved: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if saved["chain_id"] != ledger.network.chain_id or saved["registry"].lower() != ledger.network.registry.lower():
        return None
    return saved


def _last_checkpoint(folder: Path, ledger: Ledger) -> Checkpoint | None:
    """The checkpoint the last completed audit of this chain and registry signed, whatever came after."""
    saved = _state_file(folder, ledger)
    return Checkpoint.load(folder / saved["checkpoint"]) if saved and saved.get("checkpoint") else None


def _journal(folder: Path) -> Iterator[dict[str, Any]]:
    path = folder / "journal.jsonl"
    if path.exists():
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)


def find_divergence(reader: EventReader, folder: Path) -> Finding | None:
    """The first journaled block whose hash the chain no longer has, as a 'rewrite' finding."""
    entries = list(_journal(folder))
    for offset in range(0, len(entries), 500):
        chunk = entries[offset : offset + 500]
        hashes = reader.block_hashes([entry["block"] for entry in chunk])
        for entry in chunk:
            now = hashes[entry["block"]]
            if now != entry["hash"]:
                what = "no longer exists" if now is None else f"now has hash {now}"
                return Finding(
                    "rewrite",
                    "history",
                    f"the history was rewritten: block {entry['block']}, audited with hash {entry['hash']} "
                    f"and {entry['count']} events up to it, {what}",
                    {
                        "block": entry["block"],
                        "audited_hash": entry["hash"],
                        "chain_hash": now,
                        "events_before_and_in_block": entry["count"],
                    },
                )
    return None


def run_audit(
    ledger: Ledger,
    *,
    folder: Path | None = None,
    key_path: Path | None = None,
    with_store: bool = True,
    progress: Progress | None = None,
    blocks_per_page: int = 2000,
) -> AuditRun:
    """Audit the registry from where the last audit stopped (or from its deployment block).

    Steps: check the last checkpoint still holds (else report the rewrite and start
    over); replay new events page by page, checking each rule; compare the replayed
    state with the contract's; reconcile with the store; sign a checkpoint; write reports.
    """
    folder = folder or audit_dir(ledger)
    folder.mkdir(parents=True, exist_ok=True)
    key = load_or_create_key(key_path or folder / "auditor.pem")
    reader = _reader(ledger)
    findings: list[Finding] = []

    # 1. Does the history the last audit signed still stand? (Asked of the last signed checkpoint
    #    even when the replay must start over: after an unfinished audit, or in another encoding.)
    anchors, documents, database = open_tables(folder / "replay.sqlite", fresh=False)
    saved = _load(folder, ledger, (anchors, documents))
    previous = _last_checkpoint(folder, ledger)
    if saved is not None and marked(database) != saved.last_block:
        saved = None  # an audit stopped half-way: its tables ran ahead of state.json
    if previous is not None:
        now = reader.block_hashes([previous.block_number])[previous.block_number]
        if now != previous.block_hash:
            divergence = find_divergence(reader, folder) or Finding(
                "rewrite",
                "history",
                f"the history was rewritten: block {previous.block_number} of the last checkpoint "
                f"{'no longer exists' if now is None else 'has another hash'}",
                {"block": previous.block_number, "audited_hash": previous.block_hash, "chain_hash": now},
            )
            findings.append(divergence)
            saved = None  # start over from the deployment block
    if saved is None:
        (folder / "journal.jsonl").unlink(missing_ok=True)
        database.close()
        anchors, documents, database = open_tables(folder / "replay.sqlite", fresh=True)

    # 2. Replay the new events.
    start = saved.last_block + 1 if saved else ledger.deployment.block_number
    state = saved.state if saved else LedgerState(anchors=anchors, documents=documents)
    accumulator = saved.accumulator if saved else Accumulator()
    head = reader.head()
    replayed = 0
    # Replaying from the start, the old prefix must hash to the old root (if it was hashed alike).
    same_leaves = previous is not None and previous.leaf_encoding == LEAF_ENCODING
    watch = previous.event_count if previous is not None and saved is None and same_leaves else None
    begin_replay(database)
    with (folder / "journal.jsonl").open("a", encoding="utf-8") as journal:
        for last, events in reader.pages(start, head, blocks_per_page=blocks_per_page):
            page = replay_page(state, accumulator, events, mark=watch)
            findings.extend(page.findings)
            if (
                previous is not None
                and page.root_at_mark is not None
                and page.root_at_mark.hex() != previous.events_root
            ):
                findings.append(
                    Finding(
                        "rewrite",
                        "history",
                        f"the first {previous.event_count} events no longer hash to the last checkpoint's root",
                        {
                            "event_count": previous.event_count,
                            "checkpoint_root": previous.events_root,
                            "replayed_root": page.root_at_mark.hex(),
                        },
                    )
                )
            journal.writelines(
                json.dumps({"block": block, "hash": block_hash, "count": count}) + "\n"
                for block, (block_hash, count) in page.blocks.items()
            )
            replayed += len(events)
            if progress is not None:
                progress(last - start + 1, head - start + 1)

    findings.extend(state.flush(force=True))

    # 3. The replayed state must be the contract's.
    checked: Counter[str] = Counter()
    findings.extend(compare_with_contract(ledger, reader, state, head, checked))

    # 4. The store must agree with the chain.
    if with_store:
        findings.extend(reconcile_with_store(ledger, state, checked))

    # 5. Sign a checkpoint and write the reports.
    block_hash = reader.block_hashes([head])[head] or ""
    checkpoint = sign(
        Checkpoint(
            chain_id=ledger.network.chain_id,
            registry=ledger.network.registry,
            block_number=head,
            block_hash=block_hash,
            event_count=accumulator.count,
            events_root=accumulator.root().hex(),
            audited_at=datetime.now(UTC).isoformat(),
            auditor="",
            previous=previous.digest() if previous else None,
            leaf_encoding=LEAF_ENCODING,
        ),
        key,
    )
    name = f"checkpoints/{head:012d}-{checkpoint.digest()[:12]}.json"
    checkpoint.save(folder / name)
    state_file = {
        "chain_id": ledger.network.chain_id,
        "registry": ledger.network.registry,
        "last_block": head,
        "leaf_encoding": LEAF_ENCODING,
        "checkpoint": name,
        "accumulator": accumulator.to_json(),
        "state": state.to_json(),
    }
    mark(database, head)
    (folder / "state.json").write_text(json.dumps(state_file), encoding="utf-8")
    run = AuditRun(
        from_block=start,
        to_block=head,
        events_replayed=replayed,
        checkpoint=checkpoint,
        findings=findings,
        checked=checked,
    )
    run.report = build_report(ledger, state, run, with_store)
    (folder / "latest-report.json").write_text(json.dumps(run.report, indent=2, ensure_ascii=False), encoding="utf-8")
    (folder / "latest-report.md").write_text(render_markdown(run.report), encoding="utf-8")
    database.close()
    return run


def build_report(ledger: Ledger, state: LedgerState, run: AuditRun, with_store: bool) -> dict[str, Any]:
    """The report a program reads; `render_markdown` makes the one people read."""
    agencies: dict[str, dict[str, Any]] = {agency: {"name": name} for agency, name in state.agencies.items()}
    for agency, counts in state.totals.items():
        agencies.setdefault(agency, {"name": None}).update({key: value for key, value in counts.items() if value})
    types: Counter[str] = Counter()
    if with_store:
        for rows in ledger.store.document_summaries():
            state.anchors.prefetch(root for _, root, _, _ in rows)
            types.update(kind for _, root, kind, _ in rows if state.anchors.get(root) is not None)
            state.flush()
    return {
        "chain_id": ledger.network.chain_id,
        "registry": ledger.network.registry,
        "from_block": run.from_block,
        "to_block": run.to_block,
        "events_replayed": run.events_replayed,
        "checked": dict(run.checked),
        "checkpoint": asdict(run.checkpoint),
        "totals": {
            "agencies": agencies,
            "document_types": dict(types) if with_store else "unknown without the store",
            "documents_per_month": dict(sorted(state.months.items())),
        },
        "revocations": state.revocations,
        "key_changes": state.key_changes,
        "findings": [asdict(finding) for finding in run.findings],
        "ok": not run.findings,
    }
