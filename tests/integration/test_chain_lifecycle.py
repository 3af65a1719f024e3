"""The local chain's life: deploy once, restart from the state file, detect a lost chain."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ledger.chain.anvil import AnvilProcess, find_anvil, free_port
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import DeploymentRecord
from ledger.domain import ReasonCode
from ledger.errors import DeploymentError
from ledger.settings import Settings
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.setup import ensure_deployment
from ledger.usecases.status import Action, change_status
from ledger.usecases.verify import verify_document
from tests.integration.conftest import example

pytestmark = pytest.mark.anvil_only  # Anvil nodes of its own, with state files and chain ids


def settings_for(node: AnvilProcess, data: Path) -> Settings:
    return Settings(data_dir=data, rpc_url=node.url, seed_demo=False, admin_transfer_delay_seconds=3600)


def test_restart_reuses_the_deployment_and_keeps_documents(tmp_path: Path) -> None:
    state = tmp_path / "chain" / "state.json"
    port = free_port()
    with AnvilProcess(port=port, state_file=state) as node:
        ledger = Ledger(settings_for(node, tmp_path))
        record = ensure_deployment(ledger, redeploy_if_lost=False)
        register_agency(ledger, "moci", "Ministry of Commerce")
        add_issuer_key(ledger, "moci")
        request = example("commercial-licence")
        document = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])])
        ledger.close()
    assert state.exists()

    with AnvilProcess(port=port, state_file=state) as node:
        ledger = Ledger(settings_for(node, tmp_path))
        again = ensure_deployment(ledger, redeploy_if_lost=False)
        assert again == record
        assert verify_document(ledger, document.documents[0]).status.value == "VALID"
        ledger.close()


def test_a_lost_chain_is_reported_not_silently_redeployed(tmp_path: Path) -> None:
    with AnvilProcess(port=free_port()) as node:
        ledger = Ledger(settings_for(node, tmp_path))
        ensure_deployment(ledger, redeploy_if_lost=False)
        ledger.close()
    with AnvilProcess(port=free_port()) as fresh:  # same chain id, empty state
        ledger = Ledger(settings_for(fresh, tmp_path))
        with pytest.raises(DeploymentError, match="reset or its state lost"):
            ensure_deployment(ledger, redeploy_if_lost=False)
        record = ensure_deployment(ledger, redeploy_if_lost=True)
        assert DeploymentRecord.load(tmp_path / "deployment.json") == record
        ledger.close()


def test_a_record_for_another_chain_is_refused(tmp_path: Path, artifact: ContractArtifact) -> None:
    with AnvilProcess(port=free_port(), extra_args=("--chain-id", "4242")) as node:
        ledger = Ledger(settings_for(node, tmp_path))
        ensure_deployment(ledger, redeploy_if_lost=False)
        ledger.close()
    with AnvilProcess(port=free_port()) as other:
        ledger = Ledger(settings_for(other, tmp_path))
        with pytest.raises(DeploymentError, match="serves chain 31337"):
            ensure_deployment(ledger, redeploy_if_lost=False)
        ledger.close()


def test_independent_client_reads_the_openattestation_interface(tmp_path: Path) -> None:
    """`cast` (Foundry's own JSON-RPC client) sees what Sijill anchored and revoked."""
    cast = find_anvil().parent.parent.parent / "cast-linux-amd64" / "bin" / "cast"
    if not cast.exists():
        found = shutil.which("cast")
        assert found, "cast comes with `npm ci` (@foundry-rs/cast)"
        cast = Path(found)
    with AnvilProcess(port=free_port()) as node:
        ledger = Ledger(settings_for(node, tmp_path))
        record = ensure_deployment(ledger, redeploy_if_lost=False)
        register_agency(ledger, "moci", "Ministry of Commerce")
        add_issuer_key(ledger, "moci")
        request = example("building-permit")
        batch = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])] * 2)
        target = batch.documents[0]["signature"]["targetHash"]
        change_status(ledger, Actor("moci"), target, Action.REVOKE, ReasonCode.FRAUD)

        def read(signature: str, value: str) -> str:
            completed = subprocess.run(
                [str(cast), "call", record.address, signature, "0x" + value, "--rpc-url", node.url],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            return completed.stdout.strip()

        assert read("isIssued(bytes32)(bool)", batch.merkle_root) == "true"
        assert read("isRevoked(bytes32)(bool)", batch.merkle_root) == "false"
        assert read("isRevoked(bytes32)(bool)", target) == "true"
        assert read("isIssued(bytes32)(bool)", "00" * 32) == "false"
        ledger.close()
