"""The audit: replay the registry from the chain, check every rule, reconcile, sign a checkpoint.

State lives in an audit folder of the auditor's own (default ``data/audit``):
``state.json`` (where the last audit stopped: the replayed ledger and the Merkle
accumulator), ``journal.jsonl`` (for every block with events: its hash and the event
count after it), ``checkpoints/`` and the latest reports.

`run_audit` takes an `AuditSession` through the audit's steps. The comparison with the contract
(`ledger.usecases.audit_contract`), the reconciliation with the store (`ledger.usecases.audit_store`),
the export of events (`ledger.usecases.audit_export`) and the verification of a checkpoint
(`ledger.usecases.audit_verify`) live in modules of their own, and are imported from here too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.audit.accumulator import Accumulator
from ledger.audit.checkpoint import Checkpoint, load_or_create_key, sign
from ledger.audit.replay import Finding, LedgerState, replay_page
from ledger.audit.report import render_markdown
from ledger.audit.tables import AnchorRecord, DocumentStatusRecord, Table, begin_replay, mark, marked, open_tables
from ledger.chain.events import LEAF_ENCODING, EventReader
from ledger.usecases.audit_contract import compare_with_contract
from ledger.usecases.audit_export import export_events
from ledger.usecases.audit_governance import audit_governance
from ledger.usecases.audit_status_lists import compare_status_lists
from ledger.usecases.audit_store import reconcile_with_store
from ledger.usecases.audit_verify import verify_checkpoint
from ledger.usecases.context import Ledger

__all__ = [
    "AuditRun",
    "AuditSession",
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


def audit_dir(ledger: Ledger) -> Path:
    """The default audit folder."""
    return ledger.settings.data_dir / "audit"


def _load(
    folder: Path, ledger: Ledger, anchors: Table[AnchorRecord], documents: Table[DocumentStatusRecord]
) -> _Saved | None:
    """Where the last completed audit of this chain and registry stopped, if it hashed events as we do."""
    saved = _state_file(folder, ledger)
    if saved is None or saved.get("leaf_encoding") != LEAF_ENCODING:
        return None
    return _Saved(
        last_block=saved["last_block"],
        accumulator=Accumulator.from_json(saved["accumulator"]),
        state=LedgerState.from_json(saved["state"], anchors=anchors, documents=documents),
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


class AuditSession:
    """One audit of an audit folder, its steps taken in order (as `run_audit` does):

    1. `check_history`: does the history the last audit signed still stand? Where does the replay start?
    2. `replay`: replay the new events, checking each rule.
    3. `compare`: the replayed state must be the contract's.
    4. `reconcile`: the store must agree with the chain (an audit without the store skips it).
    5. `sign_and_report`: sign a checkpoint, save where the audit stopped, write the reports.

    The replay database (``replay.sqlite``) is opened on entering the session and closed on leaving
    it, whether the steps completed or raised. Only step 5 marks the database as holding a completed
    audit: the audit after one that stopped half-way replays from the deployment block.
    """

    from_block: int
    """The first block the replay reads (set by step 1)."""
    to_block: int
    """The chain's head when the replay began, the block the checkpoint is for (set by step 2)."""
    state: LedgerState
    """The replayed registry (set by step 1)."""
    accumulator: Accumulator
    """The Merkle accumulator of every event replayed, this audit's and the earlier ones' (set by step 1)."""

    def __init__(self, ledger: Ledger, folder: Path) -> None:
        self.ledger, self.folder = ledger, folder
        self.reader = ledger.registry.events(ledger.artifact.abi)
        self.findings: list[Finding] = []
        self.checked: Counter[str] = Counter()
        self.events_replayed = 0
        self._with_store = False
        self._previous: Checkpoint | None = None
        self._council_events: tuple[int, str] = (0, "")  # set by step 3
        self._afresh = True

    def __enter__(self) -> AuditSession:
        self._open(fresh=False)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._database.close()

    def _open(self, *, fresh: bool) -> None:
        self._anchors, self._documents, self._database = open_tables(self.folder / "replay.sqlite", fresh=fresh)

    def check_history(self) -> None:
        """Step 1: hold the chain to the last signed checkpoint, and decide where the replay starts.

        The checkpoint is the last one signed, even when the replay must start over (after an audit
        that stopped half-way, or one that hashed events otherwise). A block of it the chain no
        longer has is a 'rewrite' finding, and the replay then starts over from the deployment
        block, as it does when nothing was saved or the replay database ran ahead of the saved state.
        """
        saved = _load(self.folder, self.ledger, self._anchors, self._documents)
        previous = self._previous = _last_checkpoint(self.folder, self.ledger)
        if saved is not None and marked(self._database) != saved.last_block:
            saved = None  # an audit stopped half-way: its tables ran ahead of state.json
        if previous is not None:
            now = self.reader.block_hashes([previous.block_number])[previous.block_number]
            if now != previous.block_hash:
                divergence = find_divergence(self.reader, self.folder) or Finding(
                    "rewrite",
                    "history",
                    f"the history was rewritten: block {previous.block_number} of the last checkpoint "
                    f"{'no longer exists' if now is None else 'has another hash'}",
                    {"block": previous.block_number, "audited_hash": previous.block_hash, "chain_hash": now},
                )
                self.findings.append(divergence)
                saved = None  # start over from the deployment block
        self._afresh = saved is None
        if saved is None:
            (self.folder / "journal.jsonl").unlink(missing_ok=True)
            self._database.close()
            self._open(fresh=True)
            self.from_block = self.ledger.deployment.block_number
            self.state = LedgerState(anchors=self._anchors, documents=self._documents)
            self.accumulator = Accumulator()
        else:
            self.from_block, self.state, self.accumulator = saved.last_block + 1, saved.state, saved.accumulator

    def replay(self, progress: Progress | None = None, *, blocks_per_page: int = 2000) -> None:
        """Step 2: replay the events from `from_block` to the chain's head, page by page.

        The rules each event breaks are findings; every block with events is journaled with its
        hash and the event count after it. Replaying from the deployment block, the events the last
        checkpoint signed must hash to its root again (if it hashed them alike), else that is a
        'rewrite' finding.
        """
        previous, start = self._previous, self.from_block
        head = self.to_block = self.reader.head()
        same_leaves = previous is not None and previous.leaf_encoding == LEAF_ENCODING
        watch = previous.event_count if previous is not None and self._afresh and same_leaves else None
        begin_replay(self._database)
        with (self.folder / "journal.jsonl").open("a", encoding="utf-8") as journal:
            for last, events in self.reader.pages(start, head, blocks_per_page=blocks_per_page):
                page = replay_page(self.state, self.accumulator, events, mark=watch)
                self.findings.extend(page.findings)
                if (
                    previous is not None
                    and page.root_at_mark is not None
                    and page.root_at_mark.hex() != previous.events_root
                ):
                    self.findings.append(
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
                self.events_replayed += len(events)
                if progress is not None:
                    progress(last - start + 1, head - start + 1)
        self.findings.extend(self.state.flush(force=True))

    def compare(self) -> None:
        """Step 3: the replayed state against the contract at `to_block` (see `compare_with_contract`),
        and the council's rules over the whole history (see `audit_governance`)."""
        self.findings.extend(compare_with_contract(self.ledger, self.reader, self.state, self.to_block, self.checked))
        governance = audit_governance(self.ledger, self.to_block, self._previous)
        self.findings.extend(governance.findings)
        self.checked.update(governance.checked)
        self._council_events = (governance.event_count, governance.events_root)

    def reconcile(self) -> None:
        """Step 4: the store against the replayed chain (see `reconcile_with_store`), and the status lists
        the service publishes against the bits the replayed events give (see `compare_status_lists`)."""
        self.findings.extend(reconcile_with_store(self.ledger, self.state, self.checked))
        self.findings.extend(compare_status_lists(self.ledger, self.state, self.to_block, self.checked))
        self._with_store = True

    def sign_and_report(self, key: Ed25519PrivateKey) -> AuditRun:
        """Step 5: sign a checkpoint of `to_block` with `key`, save where the audit stopped, write the reports.

        Returns the audit's run, its report included. The saved state and the marked replay
        database are what the next audit continues from.
        """
        ledger, folder, head, accumulator = self.ledger, self.folder, self.to_block, self.accumulator
        previous = self._previous
        block_hash = self.reader.block_hashes([head])[head] or ""
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
                council_event_count=self._council_events[0],
                council_events_root=self._council_events[1],
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
            "state": self.state.to_json(),
        }
        mark(self._database, head)
        (folder / "state.json").write_text(json.dumps(state_file), encoding="utf-8")
        run = AuditRun(
            from_block=self.from_block,
            to_block=head,
            events_replayed=self.events_replayed,
            checkpoint=checkpoint,
            findings=self.findings,
            checked=self.checked,
        )
        run.report = build_report(ledger, self.state, run, self._with_store)
        report = json.dumps(run.report, indent=2, ensure_ascii=False)
        (folder / "latest-report.json").write_text(report, encoding="utf-8")
        (folder / "latest-report.md").write_text(render_markdown(run.report), encoding="utf-8")
        return run


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

    Steps (an `AuditSession`'s): check the last checkpoint still holds (else report the rewrite
    and start over); replay new events page by page, checking each rule; compare the replayed
    state with the contract's; reconcile with the store (when `with_store`); sign a checkpoint
    with the key at `key_path` (default ``auditor.pem`` in the folder, created if missing);
    write reports.

    Raises `ConfigurationError` if the file at `key_path` is not an Ed25519 private key,
    `InvalidRequestError` if the checkpoint ``state.json`` names is not one, and whatever reading
    the chain or the store raises. The replay database is closed whatever happens; an audit that
    stops after its replay began and before it saved its state leaves the database unmarked, and
    the next audit replays from the deployment block.
    """
    folder = folder or audit_dir(ledger)
    folder.mkdir(parents=True, exist_ok=True)
    key = load_or_create_key(key_path or folder / "auditor.pem")
    with AuditSession(ledger, folder) as session:
        session.check_history()
        session.replay(progress, blocks_per_page=blocks_per_page)
        session.compare()
        if with_store:
            session.reconcile()
        return session.sign_and_report(key)


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
