"""The auditor's rules and accumulator, on hand-made events (the contract never lets these happen)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger.audit.accumulator import Accumulator
from ledger.audit.checkpoint import Checkpoint, load_or_create_key, sign, signature_valid
from ledger.audit.replay import ADMIN_ROLE, LedgerState
from ledger.audit.tables import AnchorRecord, DocumentStatusRecord
from ledger.chain.events import ChainEvent

ADMIN, KEY_A, KEY_B, STRANGER = "0xad", "0xaa", "0xbb", "0xcc"
ROOT, DOC = "11" * 32, "22" * 32


def agency(name: str) -> str:
    return name.encode().ljust(32, b"\0").hex()


class Chain:
    """Events in order, one block each."""

    def __init__(self) -> None:
        self.block = 0
        self.state = LedgerState()

    def emit(self, event_name: str, /, **args: Any) -> list[str]:
        self.block += 1
        event = ChainEvent(
            block_number=self.block,
            block_hash="00",
            tx_hash="ab" * 32,
            log_index=0,
            name=event_name,
            args=args,
            leaf=bytes(32),
        )
        return [finding.rule for finding in self.state.apply(event)]


def setup() -> Chain:
    chain = Chain()
    chain.emit("RoleGranted", role=ADMIN_ROLE, account=ADMIN, sender=ADMIN)
    chain.emit("AgencyRegistered", agencyId=agency("moci"), name="Ministry")
    chain.emit("AgencyRegistered", agencyId=agency("qu"), name="University")
    chain.emit("IssuerKeyAdded", agencyId=agency("moci"), key=KEY_A, validFrom=100, validUntil=2**40 - 1)
    chain.emit("IssuerKeyAdded", agencyId=agency("qu"), key=KEY_B, validFrom=100, validUntil=2**40 - 1)
    assert chain.emit("Anchored", root=ROOT, key=KEY_A, documentCount=2, expiresAt=0, at=200) == []
    return chain


def change(chain: Chain, event_name: str, by: str, target: str = ROOT, at: int = 300, **extra: Any) -> list[str]:
    return chain.emit(event_name, hash=target, by=by, root=ROOT, at=at, **extra)


def test_a_legal_history_has_no_findings() -> None:
    chain = setup()
    assert change(chain, "Suspended", KEY_A, reason=7) == []
    assert change(chain, "Reinstated", KEY_A) == []
    assert change(chain, "Revoked", KEY_A, DOC, reason=3) == []
    assert change(chain, "Revoked", ADMIN, reason=6) == []
    assert chain.state.anchors[ROOT].status == "REVOKED"
    assert chain.state.documents[DOC].status == "REVOKED"


def test_anchors_need_a_key_valid_then() -> None:
    chain = setup()
    assert chain.emit("Anchored", root="33" * 32, key=STRANGER, documentCount=1, expiresAt=0, at=200) == ["anchor-key"]
    assert chain.emit("Anchored", root="44" * 32, key=KEY_A, documentCount=1, expiresAt=0, at=50) == ["anchor-key"]
    chain.emit("IssuerKeyValidUntilChanged", agencyId=agency("moci"), key=KEY_A, validUntil=250)
    assert chain.emit("Anchored", root="55" * 32, key=KEY_A, documentCount=1, expiresAt=0, at=260) == ["anchor-key"]
    assert chain.emit("Anchored", root=ROOT, key=KEY_A, documentCount=1, expiresAt=0, at=240) == ["anchor-once"]


def test_only_the_owner_changes_and_the_admin_only_revokes() -> None:
    chain = setup()
    assert change(chain, "Suspended", KEY_B, reason=1) == ["change-owner"]
    assert change(chain, "Reinstated", ADMIN) == ["change-owner"]
    assert change(chain, "Revoked", STRANGER, reason=1) == ["change-owner"]


def test_illegal_orders_are_found() -> None:
    chain = setup()
    assert change(chain, "Reinstated", KEY_A) == ["change-order"]
    assert change(chain, "Revoked", KEY_A, reason=1) == []
    assert change(chain, "Suspended", KEY_A, reason=1) == ["change-order"]
    assert change(chain, "Revoked", KEY_A, DOC, reason=1) == ["change-order"]


def test_nothing_changes_while_paused() -> None:
    chain = setup()
    chain.emit("Paused", account=ADMIN)
    assert change(chain, "Suspended", KEY_A, reason=1) == ["paused"]
    assert chain.emit("Anchored", root="66" * 32, key=KEY_A, documentCount=1, expiresAt=0, at=300) == ["paused"]
    chain.emit("Unpaused", account=ADMIN)
    assert change(chain, "Reinstated", KEY_A) == []


def test_types_keep_their_owner_and_count_their_versions() -> None:
    chain = setup()
    permit, shared = agency("visitor-entry-permit"), "00" * 32

    def register(owner: str, version: int) -> list[str]:
        return chain.emit(
            "DocumentTypeRegistered", typeId=permit, version=version, agencyId=owner, definitionHash="ab" * 32, at=1
        )

    assert register(agency("moci"), 1) == []
    assert register(agency("moci"), 2) == []
    assert register(agency("moci"), 2) == ["type-version"]
    assert register(agency("qu"), 3) == ["type-owner"]
    assert register(shared, 3) == ["type-owner"]
    assert register(agency("nobody"), 1) == ["type-owner"]
    assert chain.state.types == {"visitor-entry-permit": ["moci", 2]}


def test_state_survives_a_round_trip_through_json() -> None:
    chain = setup()
    chain.emit(
        "DocumentTypeRegistered",
        typeId=agency("health-card"),
        version=1,
        agencyId="00" * 32,
        definitionHash="ab" * 32,
        at=1,
    )
    change(chain, "Revoked", KEY_A, DOC, reason=3)
    again = LedgerState.from_json(chain.state.to_json())
    assert again.to_json() == chain.state.to_json()


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=80), st.integers(min_value=0, max_value=80))
def test_the_accumulator_commits_to_every_prefix(leaves: list[bytes], cut: int) -> None:
    whole, prefix = Accumulator(), Accumulator()
    for index, leaf in enumerate(leaves):
        whole.add(leaf)
        if index < cut:
            prefix.add(leaf)
    again = Accumulator.from_json(whole.to_json())
    assert again.root() == whole.root()
    if cut < len(leaves):
        assert prefix.root() != whole.root()
    if leaves:
        changed = Accumulator()
        for index, leaf in enumerate(leaves):
            changed.add(leaf if index else bytes([leaf[0] ^ 1]) + leaf[1:])
        assert changed.root() != whole.root()


def test_checkpoints_are_signed_by_their_auditor(tmp_path: Any) -> None:
    key = load_or_create_key(tmp_path / "auditor.pem")
    assert (tmp_path / "auditor.pem").stat().st_mode & 0o077 == 0
    signed = sign(Checkpoint(1, "0x1", 5, "aa", 3, "bb", "now", ""), key)
    assert signature_valid(signed)
    assert signature_valid(signed, expected_auditor=signed.auditor)
    assert not signature_valid(signed, expected_auditor="00" * 32)
    assert not signature_valid(replace(signed, block_number=6))
    assert load_or_create_key(tmp_path / "auditor.pem").public_key() is not None


def test_a_checkpoint_signs_the_councils_events_and_one_signed_before_them_still_verifies(tmp_path: Any) -> None:
    key = load_or_create_key(tmp_path / "auditor.pem")
    before = sign(Checkpoint(1, "0x1", 5, "aa", 3, "bb", "now", ""), key)  # no council root: as signed before
    assert "council" not in before.payload().decode()
    governed = sign(replace(before, council_event_count=4, council_events_root="cc" * 32), key)
    assert signature_valid(governed)
    assert not signature_valid(replace(governed, council_events_root="dd" * 32))
    assert not signature_valid(replace(governed, council_event_count=3))


def anchor_record(at: int, status: str = "ACTIVE") -> AnchorRecord:
    return AnchorRecord("moci", KEY_A, at, 7, 2, 0, status, 0)


def test_the_disk_table_keeps_records_across_pages_and_finds_clashes(tmp_path: Any) -> None:
    from ledger.audit.tables import open_tables

    anchors, documents, database = open_tables(tmp_path / "replay.sqlite", fresh=True)
    assert anchors.insert("a", anchor_record(1)) is True
    assert anchors.insert("a", anchor_record(2)) is False  # in the same page
    documents["d"] = DocumentStatusRecord("moci", "REVOKED", 3, 1, "a")
    assert anchors.flush() == []  # held back: far fewer records than a write batch
    assert anchors.held() == 1
    assert anchors.flush(force=True) == []
    documents.flush(force=True)
    assert anchors.insert("a", anchor_record(3)) is True  # unknown to the cache; the disk knows it
    assert anchors.flush(force=True) == ["a"]
    anchors.prefetch(["a", "b"])
    record = anchors.get("a")
    assert record == anchor_record(1)
    anchors["a"] = record._replace(status="SUSPENDED")  # a changed record, written back on flush
    anchors["b"] = anchor_record(5)
    anchors.flush(force=True)
    assert anchors.get("a") == anchor_record(1, "SUSPENDED")
    assert anchors.get("zz") is None
    assert [key for chunk in anchors.chunks(1) for key, _ in chunk] == ["a", "b"]
    assert documents.get("d") == DocumentStatusRecord("moci", "REVOKED", 3, 1, "a")
    # One column a field: an auditor's own SQL reads the replayed state.
    anchors.flush(force=True)
    assert database.execute("SELECT status FROM anchors WHERE key = 'a'").fetchone() == ("SUSPENDED",)
    database.close()
    again, _, database = open_tables(tmp_path / "replay.sqlite", fresh=False)
    assert again.get("b") == anchor_record(5)
    database.close()


def test_the_disk_table_writes_once_it_holds_a_batch(tmp_path: Any) -> None:
    import sqlite3

    from ledger.audit.tables import SqliteTable

    database = sqlite3.connect(tmp_path / "t.sqlite")
    table = SqliteTable(database, "anchors", AnchorRecord, buffer=3)
    stored = lambda: database.execute("SELECT count(*) FROM anchors").fetchone()[0]  # noqa: E731
    for key in ("a", "b"):
        table.insert(key, anchor_record(1))
        assert table.flush() == []
    assert stored() == 0
    table.insert("c", anchor_record(1))
    table.flush()
    assert stored() == 3
    assert table.held() == 0


def test_an_audit_that_stopped_half_way_leaves_its_tables_unmarked(tmp_path: Any) -> None:
    from ledger.audit.tables import begin_replay, mark, marked, open_tables

    _, _, database = open_tables(tmp_path / "replay.sqlite", fresh=True)
    mark(database, 40)
    begin_replay(database)  # a later audit starts writing, then the process dies
    database.close()
    _, _, database = open_tables(tmp_path / "replay.sqlite", fresh=False)
    assert marked(database) is None
    database.close()


def test_a_replay_database_of_another_layout_is_started_afresh(tmp_path: Any) -> None:
    import sqlite3

    from ledger.audit.tables import marked, open_tables

    old = sqlite3.connect(tmp_path / "replay.sqlite")
    old.execute("CREATE TABLE anchors (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
    old.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    old.execute("INSERT INTO meta VALUES ('last_block', 9)")
    old.commit()
    old.close()
    anchors, _, database = open_tables(tmp_path / "replay.sqlite", fresh=False)
    assert marked(database) is None  # so the audit replays from the deployment block
    assert anchors.get("a") is None
    database.close()


def test_a_root_anchored_again_after_a_write_keeps_its_first_anchor(tmp_path: Any) -> None:
    """The contract refuses a second anchor: the replay reports it and keeps the first, even across writes."""
    import sqlite3

    from ledger.audit.tables import SqliteTable

    database = sqlite3.connect(tmp_path / "t.sqlite")
    chain = setup()
    chain.state = LedgerState(
        agencies=chain.state.agencies,
        keys=chain.state.keys,
        admins=chain.state.admins,
        anchors=SqliteTable(database, "anchors", AnchorRecord, buffer=1),
        documents=SqliteTable(database, "documents", DocumentStatusRecord, buffer=1),
    )
    chain.emit("Anchored", root=ROOT, key=KEY_A, documentCount=2, expiresAt=0, at=200)
    assert chain.state.flush() == []  # written: a later insert cannot see it in the cache
    assert chain.emit("Anchored", root=ROOT, key=KEY_B, documentCount=5, expiresAt=0, at=250) == []
    assert change(chain, "Suspended", KEY_A, ROOT, reason=1) == []  # the first anchor's agency owns it
    assert change(chain, "Revoked", KEY_B, ROOT, reason=2) == ["change-owner"]
    assert [finding.rule for finding in chain.state.flush(force=True)] == ["anchor-once"]
    assert chain.state.totals["moci"]["anchors"] == 1
    assert chain.state.totals["qu"]["anchors"] == 0
    assert chain.state.anchors.get(ROOT).agency == "moci"  # type: ignore[union-attr]
