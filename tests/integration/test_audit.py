"""The auditor on a real chain: a clean ledger passes; every kind of tampering is caught."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

import ledger.usecases.audit as audit_usecase
from cli.main import app as cli
from ledger.audit.checkpoint import Checkpoint, signature_valid
from ledger.audit.replay import LedgerState
from ledger.audit.tables import mark, open_tables
from ledger.chain.anvil import AnvilProcess, free_port
from ledger.domain import HexHash, ReasonCode
from ledger.errors import InvalidRequestError
from ledger.settings import DEV_ADMIN_TOKEN, Settings
from ledger.store.models import DocumentRow
from ledger.usecases.actors import ADMIN, Actor
from ledger.usecases.agencies import add_issuer_key, register_agency, set_key_valid_until
from ledger.usecases.audit import compare_with_contract, export_events, run_audit, verify_checkpoint
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.sending import send_call
from ledger.usecases.setup import ensure_deployment
from ledger.usecases.status import Action, change_status
from tests.integration.conftest import auth, licence
from tests.nodes import ChainNode


def populate(ledger: Ledger) -> list[str]:
    """Two agencies, a key rotation, batches, and every kind of status change."""
    register_agency(ledger, "moci", "Ministry of Commerce")
    register_agency(ledger, "qu", "Qatar University")
    first = add_issuer_key(ledger, "moci")
    add_issuer_key(ledger, "qu")
    requests = [IssueRequest("commercial-licence", licence(f"CL-2026-{n:06d}")["fields"]) for n in range(1, 4)]
    batch = issue_documents(ledger, "moci", requests)
    single = issue_documents(ledger, "qu", requests[:1])
    targets = [document["signature"]["targetHash"] for document in batch.documents]
    change_status(ledger, Actor("moci"), targets[0], Action.SUSPEND, ReasonCode.UNDER_INVESTIGATION)
    change_status(ledger, Actor("moci"), targets[0], Action.REINSTATE, ReasonCode.UNSPECIFIED)
    change_status(ledger, Actor("moci"), targets[1], Action.REVOKE, ReasonCode.FRAUD)
    change_status(ledger, ADMIN, single.merkle_root, Action.REVOKE, ReasonCode.ADMINISTRATIVE)
    set_key_valid_until(ledger, first.address)
    add_issuer_key(ledger, "moci")
    return targets


def test_a_clean_ledger_passes_and_audits_continue(ledger: Ledger, tmp_path: Path) -> None:
    populate(ledger)
    first = run_audit(ledger, folder=tmp_path / "audit")
    assert first.findings == [], first.findings
    report = first.report
    assert report["ok"] is True
    assert report["totals"]["agencies"]["moci"]["documents"] == 3
    assert report["totals"]["document_types"] == {"commercial-licence": 4}
    assert [r["reason"] for r in report["revocations"]] == [int(ReasonCode.FRAUD), int(ReasonCode.ADMINISTRATIVE)]
    assert any(change["change"] == "valid-until" for change in report["key_changes"])
    assert (tmp_path / "audit" / "latest-report.md").read_text().startswith("# Sijill audit report")
    # Two anchors and two document records, each read three ways; four documents in two batches.
    assert report["checked"] == {
        "contract_reads": 12,
        "store_batches": 2,
        "store_documents": 4,
        "chain_anchors": 2,
        "governance events": 5,  # the council's role, a guardian, two admissions, an emergency revocation
        "council schedules": 3,
        "council executions": 3,
        "council changes": 1,  # the Safe enabling the timelock as its module, at deployment
        # The Safe's and the timelock's events the checkpoint signs: the Safe's setup, its module enabled
        # (3 events), the first delay, and per council action a Safe run (2), a schedule and an execution.
        "council events": 17,
    }

    issue_documents(ledger, "qu", [IssueRequest("commercial-licence", licence("CL-2026-000777")["fields"])])
    second = run_audit(ledger, folder=tmp_path / "audit")
    assert second.findings == []
    assert second.from_block == first.to_block + 1
    assert second.events_replayed == 1
    assert second.checkpoint.previous == first.checkpoint.digest()
    assert second.checkpoint.event_count == first.checkpoint.event_count + 1
    assert verify_checkpoint(ledger, second.checkpoint) == []

    rows = export_events(ledger, tmp_path / "events.jsonl", "jsonl")
    assert rows == second.checkpoint.event_count
    assert export_events(ledger, tmp_path / "events.csv", "csv") == rows


@pytest.mark.anvil_only  # anvil_reorg
def test_a_reorg_past_the_checkpoint_is_reported(ledger: Ledger, tmp_path: Path, chain_node: ChainNode) -> None:
    populate(ledger)
    run_audit(ledger, folder=tmp_path / "audit")
    head = ledger.registry.block_number()
    ledger.registry._web3.provider.make_request("anvil_reorg", [3, []])  # type: ignore[arg-type]
    run = run_audit(ledger, folder=tmp_path / "audit")
    rewrites = [finding for finding in run.findings if finding.kind == "rewrite"]
    assert rewrites, run.findings
    assert rewrites[0].evidence["block"] > head - 3
    assert "history was rewritten" in rewrites[0].message


def test_a_chain_restored_from_older_state_is_reported(tmp_path: Path) -> None:
    state = tmp_path / "chain.json"
    port = free_port()
    settings = Settings(data_dir=tmp_path, rpc_url=f"http://127.0.0.1:{port}", seed_demo=False)
    with AnvilProcess(port=port, state_file=state) as _node:
        ledger = Ledger(settings)
        ensure_deployment(ledger, redeploy_if_lost=False)
        register_agency(ledger, "moci", "Ministry of Commerce")
        add_issuer_key(ledger, "moci")
        ledger.close()
    shutil.copy(state, tmp_path / "older.json")
    with AnvilProcess(port=port, state_file=state) as _node:
        ledger = Ledger(settings)
        issue_documents(ledger, "moci", [IssueRequest("commercial-licence", licence("CL-2026-000001")["fields"])])
        assert run_audit(ledger, folder=tmp_path / "audit", with_store=False).findings == []
        ledger.close()
    with AnvilProcess(port=port, state_file=tmp_path / "older.json") as _node:
        ledger = Ledger(settings)
        run = run_audit(ledger, folder=tmp_path / "audit", with_store=False)
        assert [finding.kind for finding in run.findings][:1] == ["rewrite"]
        assert "no longer exists" in run.findings[0].message
        ledger.close()


def test_an_edited_store_row_is_a_difference(ledger: Ledger, tmp_path: Path) -> None:
    targets = populate(ledger)
    with ledger.store.session() as session:
        session.execute(update(DocumentRow).where(DocumentRow.target_hash == targets[2]).values(status="REVOKED"))
    run = run_audit(ledger, folder=tmp_path / "audit")
    assert [(f.kind, f.rule, f.evidence["hash"]) for f in run.findings] == [
        ("difference", "store-document", targets[2])
    ]


def test_a_revocation_the_store_never_saw_is_a_difference(ledger: Ledger, tmp_path: Path) -> None:
    targets = populate(ledger)
    record = ledger.store.get_document(targets[2])
    assert record is not None
    # Revoked straight on chain with the agency's key, bypassing the service.
    key = ledger.store.active_key("moci", ledger.registry.chain_time())
    assert key is not None
    revocation = ledger.registry.status_call("revoke", HexHash(targets[2]), record.proof, 3)
    send_call(ledger, ledger.vault.decrypt(key.encrypted_key, key.address), ledger.registry.address, revocation)
    run = run_audit(ledger, folder=tmp_path / "audit")
    assert [(f.rule, f.evidence["chain"]) for f in run.findings] == [("store-document", "REVOKED")]
    # The chain is consistent with itself: only the store is behind.
    assert not [f for f in run.findings if f.kind in ("violation", "rewrite")]


def test_a_forged_checkpoint_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    populate(ledger)
    run = run_audit(ledger, folder=tmp_path / "audit")
    altered = replace(run.checkpoint, event_count=run.checkpoint.event_count - 1)
    problems = verify_checkpoint(ledger, altered)
    assert {problem.rule for problem in problems} == {"signature", "history"}
    other_auditor = verify_checkpoint(ledger, run.checkpoint, expected_auditor="00" * 32)
    assert [problem.rule for problem in other_auditor] == ["signature"]
    with pytest.raises(InvalidRequestError, match="another chain"):
        verify_checkpoint(ledger, replace(run.checkpoint, chain_id=1))


def test_the_cli_and_the_api_serve_the_audit(env: Settings, ledger: Ledger, client: TestClient, tmp_path: Path) -> None:
    populate(ledger)
    assert client.get("/v1/audit/latest").status_code == 401  # auditors only
    assert client.get("/v1/audit/latest", headers=auth(DEV_ADMIN_TOKEN)).status_code == 404
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "run"])
    assert result.exit_code == 0, result.output
    assert "no violation or difference" in result.output
    report = client.get("/v1/audit/latest", headers=auth(DEV_ADMIN_TOKEN))
    assert report.status_code == 200
    assert report.json()["ok"] is True
    checkpoints = sorted((env.data_dir / "audit" / "checkpoints").glob("*.json"))
    assert len(checkpoints) == 1
    result = runner.invoke(cli, ["audit", "verify-checkpoint", str(checkpoints[0])])
    assert result.exit_code == 0, result.output
    second = tmp_path / "second-auditor.pem"
    result = runner.invoke(
        cli,
        [
            "audit",
            "verify-checkpoint",
            str(checkpoints[0]),
            "--countersign",
            str(second),
            "--out",
            str(tmp_path / "countersigned.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    original, counter = Checkpoint.load(checkpoints[0]), Checkpoint.load(tmp_path / "countersigned.json")
    assert counter.auditor != original.auditor
    assert counter.previous == original.digest()
    assert (counter.block_hash, counter.events_root) == (original.block_hash, original.events_root)
    assert signature_valid(counter)
    result = runner.invoke(cli, ["audit", "export", "--out", str(tmp_path / "events.csv"), "--format", "csv"])
    assert result.exit_code == 0, result.output
    with ledger.store.session() as session:
        session.execute(update(DocumentRow).values(status="SUSPENDED"))
    result = runner.invoke(cli, ["audit", "run"])
    assert result.exit_code == 1
    assert "store-document" in result.output


def test_an_audit_stopped_half_way_starts_over(ledger: Ledger, tmp_path: Path) -> None:
    """If the replay tables ran ahead of the saved state (a crash mid-audit), the next audit replays afresh."""
    populate(ledger)
    first = run_audit(ledger, folder=tmp_path / "audit")
    _, _, database = open_tables(tmp_path / "audit" / "replay.sqlite", fresh=False)
    mark(database, first.to_block + 1000)  # as if a later, unfinished audit had written its pages
    database.close()
    again = run_audit(ledger, folder=tmp_path / "audit")
    assert again.findings == []
    assert again.from_block == ledger.deployment.block_number
    assert again.checkpoint.event_count == first.checkpoint.event_count


def test_replayed_records_are_held_against_every_contract_read(ledger: Ledger, tmp_path: Path) -> None:
    """A replayed record that disagrees with the contract shows in `inspect` and in OpenAttestation's reads."""
    targets = populate(ledger)
    run = run_audit(ledger, folder=tmp_path / "audit")
    assert run.findings == []
    anchors, documents, database = open_tables(tmp_path / "audit" / "replay.sqlite", fresh=False)
    database.execute("UPDATE documents SET status = 'ACTIVE' WHERE key = ?", (targets[1],))  # revoked on chain
    database.commit()
    state = LedgerState(anchors=anchors, documents=documents)
    findings = compare_with_contract(ledger, ledger.registry.events(ledger.artifact.abi), state, run.to_block)
    database.close()
    assert sorted(finding.evidence["read"] for finding in findings) == ["inspect", "isIssued/isRevoked"]
    assert {finding.evidence["hash"] for finding in findings} == {targets[1]}
    assert findings[1].evidence["replayed"] == [False, False]
    assert findings[1].evidence["contract"] == [False, True]


@pytest.mark.anvil_only  # anvil_reorg
def test_an_unfinished_audit_still_holds_the_chain_to_the_last_signed_checkpoint(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(ledger)
    first = run_audit(ledger, folder=tmp_path / "audit")
    issue_documents(ledger, "qu", [IssueRequest("commercial-licence", licence("CL-2026-000778")["fields"])])

    def node_gone(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("the node went away mid-replay")

    monkeypatch.setattr(audit_usecase, "replay_page", node_gone)
    with pytest.raises(ConnectionError):
        run_audit(ledger, folder=tmp_path / "audit")
    monkeypatch.undo()
    ledger.registry._web3.provider.make_request("anvil_reorg", [6, []])  # type: ignore[arg-type]
    again = run_audit(ledger, folder=tmp_path / "audit")
    assert [finding.kind for finding in again.findings][:1] == ["rewrite"]
    assert again.checkpoint.previous == first.checkpoint.digest()
    assert again.from_block == ledger.deployment.block_number  # the replay started over


def test_a_checkpoint_of_an_older_event_encoding_is_refused_plainly(ledger: Ledger, tmp_path: Path) -> None:
    populate(ledger)
    run = run_audit(ledger, folder=tmp_path / "audit")
    old = replace(run.checkpoint, leaf_encoding="sijill-event-leaf/1")
    with pytest.raises(InvalidRequestError, match="sijill audit run"):
        verify_checkpoint(ledger, old)
