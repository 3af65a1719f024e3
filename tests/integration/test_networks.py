"""Networks that behave as a permissioned Besu network may: blocks without a base fee (legacy
transactions at the node's gas price) and free gas (validators that take transactions for nothing).
Each on a real Anvil set up that way, or behind the proxy where Anvil has no such setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.chain.anvil import AnvilProcess, free_port
from ledger.chain.rpc import JsonRpcClient
from ledger.domain import ReasonCode
from ledger.settings import Settings
from ledger.usecases.actors import Actor
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.audit import run_audit
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, issue_documents
from ledger.usecases.setup import ensure_deployment
from ledger.usecases.status import Action, change_status
from ledger.usecases.verify import verify_document
from ledger.verification import VerificationStatus
from tests.integration.conftest import example
from tests.rpc_proxy import RpcProxy

pytestmark = pytest.mark.anvil_only  # Anvil nodes of its own, with the flags that mimic other networks


def _issue_revoke_verify(ledger: Ledger) -> tuple[str, str, str]:
    """Deploy, admit an agency, add its key, issue and revoke a licence, and verify it: the anchor's and
    the revocation's transaction hashes, and the key."""
    ensure_deployment(ledger, redeploy_if_lost=False)
    register_agency(ledger, "moci", "Ministry of Commerce")
    key = add_issuer_key(ledger, "moci")
    request = example("commercial-licence")
    batch = issue_documents(ledger, "moci", [IssueRequest(request["document_type"], request["fields"])])
    change = change_status(ledger, Actor("moci"), batch.merkle_root, Action.REVOKE, ReasonCode.SUPERSEDED)
    assert verify_document(ledger, batch.documents[0]).status is VerificationStatus.REVOKED
    return batch.receipt.tx_hash, change.receipt.tx_hash, key.address


def _transaction(url: str, tx_hash: str) -> dict[str, Any]:
    answer = JsonRpcClient(url).batch([("eth_getTransactionByHash", [tx_hash])])[0]["result"]
    assert isinstance(answer, dict)
    return answer


def _no_base_fee(_params: list[Any], block: Any) -> Any:
    if isinstance(block, dict):
        block.pop("baseFeePerGas", None)
    return block


def test_blocks_without_a_base_fee_get_legacy_transactions_at_the_nodes_gas_price(tmp_path: Path) -> None:
    with AnvilProcess(port=free_port()) as node:
        proxy = RpcProxy(node.url)
        proxy.rewrite["eth_getBlockByNumber"] = _no_base_fee  # a network without London's fee market
        try:
            ledger = Ledger(Settings(data_dir=tmp_path, rpc_url=proxy.url, seed_demo=False, council_delay_seconds=0))
            anchor, revocation, _key = _issue_revoke_verify(ledger)
            ledger.close()
            for tx_hash in (anchor, revocation):  # type 0, at the price the node asked for then
                transaction = _transaction(node.url, tx_hash)
                assert transaction["type"] == "0x0"
                assert int(transaction["gasPrice"], 16) > 0
        finally:
            proxy.close()


def test_a_free_gas_network_issues_from_keys_that_hold_nothing(tmp_path: Path) -> None:
    with AnvilProcess(port=free_port(), extra_args=("--base-fee", "0", "--gas-price", "0")) as node:
        settings = Settings(
            data_dir=tmp_path, rpc_url=node.url, seed_demo=False, council_delay_seconds=0, free_gas=True
        )
        ledger = Ledger(settings)
        anchor, revocation, key = _issue_revoke_verify(ledger)
        assert ledger.registry.balance(key) == 0  # never funded: SIJILL_FREE_GAS sends no gas money
        ledger.close()
        for tx_hash in (anchor, revocation):
            transaction = _transaction(node.url, tx_hash)
            assert int(transaction["maxFeePerGas"], 16) == int(transaction["maxPriorityFeePerGas"], 16) == 0


def test_a_node_that_caps_log_ranges_is_asked_for_smaller_ones(tmp_path: Path) -> None:
    """Besu refuses `eth_getLogs` over more blocks than `--rpc-max-logs-range` (-32005): the audit and the
    verifier halve the range until it answers, and find every event."""
    with AnvilProcess(port=free_port()) as node:
        proxy = RpcProxy(node.url)
        refused: list[int] = []

        def cap(params: list[Any]) -> dict[str, Any] | None:
            query = params[0]
            ends = (str(query.get("fromBlock", "")), str(query.get("toBlock", "")))
            if not all(end.startswith("0x") for end in ends):
                return None  # a tag ("latest"): not a query the audit pages
            span = int(ends[1], 16) - int(ends[0], 16) + 1
            if span <= 4:
                return None
            refused.append(span)
            return {"code": -32005, "message": "Exceeds max range of 4 blocks"}

        proxy.refuse["eth_getLogs"] = cap
        try:
            ledger = Ledger(Settings(data_dir=tmp_path, rpc_url=proxy.url, seed_demo=False, council_delay_seconds=0))
            _issue_revoke_verify(ledger)
            run = run_audit(ledger, folder=tmp_path / "audit")
            assert run.findings == []
            assert refused  # the node did refuse, and smaller ranges were asked for
            direct = Ledger(Settings(data_dir=tmp_path, rpc_url=node.url, seed_demo=False))
            assert run.checkpoint.event_count == run_audit(direct, folder=tmp_path / "direct").checkpoint.event_count
            direct.close()
            ledger.close()
        finally:
            proxy.close()


def test_a_node_with_besus_limits_on_batches_tags_and_pending_serves_every_use(tmp_path: Path) -> None:
    """Besu refuses a JSON-RPC batch of more than 1,024 calls whole, knows no `finalized` or `safe` tag
    on QBFT (-39001), and reads `pending` as `latest`. Through a node that does all three, Sijill deploys,
    issues, revokes, verifies and audits with no finding; it never asks for the tags, and its largest
    batch (here 1,200 receipts asked at once) stays within the cap."""
    with AnvilProcess(port=free_port()) as node:
        proxy = RpcProxy(node.url)
        proxy.max_batch = 1024
        upstream = JsonRpcClient(node.url)
        tags: list[str] = []

        def no_finality_tags(params: list[Any]) -> dict[str, Any] | None:
            if params and params[0] in ("finalized", "safe"):
                tags.append(params[0])
                return {"code": -39001, "message": "Unknown block"}
            return None

        def pending_is_latest(params: list[Any], block: Any) -> Any:
            if params and params[0] == "pending":
                (latest,) = upstream.batch([("eth_getBlockByNumber", ["latest", *params[1:]])])
                return latest["result"]
            return block

        proxy.refuse["eth_getBlockByNumber"] = no_finality_tags
        proxy.rewrite["eth_getBlockByNumber"] = pending_is_latest
        try:
            settings = Settings(
                data_dir=tmp_path, rpc_url=proxy.url, seed_demo=False, council_delay_seconds=0, clock_margin_seconds=2
            )
            ledger = Ledger(settings)
            anchor, _revocation, _key = _issue_revoke_verify(ledger)
            assert run_audit(ledger, folder=tmp_path / "audit").findings == []
            receipts = ledger.registry.transactions.inclusions([anchor] + ["0x" + f"{n:064x}" for n in range(1, 1200)])
            assert receipts[anchor] is not None
            assert sum(inclusion is not None for inclusion in receipts.values()) == 1
            ledger.close()
        finally:
            proxy.close()
    assert tags == []
    assert 500 <= proxy.largest_batch <= 1024
