"""Nothing personal on chain: not the values, not their unsalted hashes, in any transaction, log or storage slot.

Documents with known personal data (names in two scripts, national and student ids, dates
of birth, short low-entropy values an attacker could enumerate) are issued, revoked and
suspended through the API. Then everything the chain holds is read back: every block's
transactions (their input), every log (topics and data), and Anvil's whole state dump
(every account's storage and code). None of the values appear, nor any hash an attacker
could compute from a guess without the document's secret salts.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient

from ledger.documents.digest import flatten, js_json, keccak_hex, target_hash
from ledger.documents.keccak import keccak256
from ledger.usecases.agencies import RegisteredAgency, add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from tests.integration.conftest import auth, example
from tests.nodes import ChainNode

PEOPLE = [
    ("Noora Al-Mannai", "نورة المناعي", "201904512", "2001-03-14"),
    ("Ali", "علي", "100000001", "1990-01-01"),  # short and common: the easiest to guess
    ("Mohammed Al-Kuwari", "محمد الكواري", "199912345", "1999-12-31"),
]


@pytest.fixture
def qu_agency(ledger: Ledger) -> RegisteredAgency:
    """Qatar University, which issues the degree certificates."""
    registered = register_agency(ledger, "qu", "Qatar University")
    add_issuer_key(ledger, "qu")
    return registered


def _certificate(name: str, name_ar: str, student_id: str, born: str) -> dict[str, Any]:
    request = copy.deepcopy(example("academic-certificate"))
    graduate = request["fields"]["graduate"]
    graduate["name"] = {"en": name, "ar": name_ar}
    graduate["studentId"] = student_id
    graduate["dateOfBirth"] = born
    request["fields"]["certificateNumber"] = f"QU-BSC-2026-{student_id[-4:]}"
    return request


def _licence(owner: str, national_id: str) -> dict[str, Any]:
    request = copy.deepcopy(example("commercial-licence"))
    request["fields"]["owner"] = {"name": {"en": owner, "ar": "مريم آل ثاني"}, "nationalId": national_id}
    return request


def _rpc(url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    body = [{"jsonrpc": "2.0", "id": n, "method": method, "params": params} for n, (method, params) in enumerate(calls)]
    answers = sorted(requests.post(url, json=body, timeout=60).json(), key=lambda answer: answer["id"])
    return [answer["result"] for answer in answers]


def _chain_text(url: str) -> str:
    """Everything the chain holds, as lowercase hex: transaction inputs, logs, and the state dump."""
    (latest,) = _rpc(url, [("eth_blockNumber", [])])
    parts: list[str] = []
    numbers = list(range(int(latest, 16) + 1))
    for start in range(0, len(numbers), 500):
        blocks = _rpc(url, [("eth_getBlockByNumber", [hex(n), True]) for n in numbers[start : start + 500]])
        parts += [tx["input"] for block in blocks for tx in block["transactions"]]
    (logs,) = _rpc(url, [("eth_getLogs", [{"fromBlock": "0x0", "toBlock": latest}])])
    parts += [topic for log in logs for topic in log["topics"]] + [log["data"] for log in logs]
    (state,) = _rpc(url, [("anvil_dumpState", [])])
    parts.append(state)  # gzip of every account's storage, code and balances, and the blocks
    dumped = json.loads(gzip.decompress(bytes.fromhex(state[2:])))
    for account in dumped["accounts"].values():
        parts += [f"{slot}{value}" for slot, value in account["storage"].items()]
        parts.append(account["code"])
    return "\n".join(part.lower().removeprefix("0x") for part in parts)


def _guesses(fields: dict[str, Any]) -> dict[str, str]:
    """What an attacker could compute from the personal data alone, as hex, by what it is."""
    found: dict[str, str] = {}
    for path, value in flatten(fields).items():
        text = str(value)
        raw = text.encode("utf-8")
        if len(raw) >= 6:  # shorter byte strings occur by chance in any 32-byte hash
            found[f"{path} as bytes"] = raw.hex()
        found[f"keccak({path})"] = keccak256(raw).hex()
        found[f"sha256({path})"] = hashlib.sha256(raw).hexdigest()
        for typed in (value, f"string:{text}", f"number:{text}"):
            found[f"unsalted leaf {path}={typed!r}"] = keccak_hex(js_json({path: typed}))
    found["unsalted target hash"] = target_hash(fields)
    return found


@pytest.mark.anvil_only  # anvil_dumpState
def test_nothing_personal_is_on_chain(
    client: TestClient, chain_node: ChainNode, moci: RegisteredAgency, qu_agency: RegisteredAgency
) -> None:
    requests_by_agency = {
        qu_agency.token: [_certificate(*person) for person in PEOPLE],
        moci.token: [_licence("Mariam Al-Thani", "28763400123"), _licence("Ali", "10000000001")],
    }
    personal: list[dict[str, Any]] = []
    for token, batch in requests_by_agency.items():
        issued = client.post("/v1/documents/batch", json={"documents": batch}, headers=auth(token))
        assert issued.status_code == 201, issued.text
        targets = [document["signature"]["targetHash"] for document in issued.json()["documents"]]
        revoke = client.post(f"/v1/documents/{targets[0]}/revoke", json={"reason": "fraud"}, headers=auth(token))
        suspend = client.post(f"/v1/documents/{targets[1]}/suspend", json={}, headers=auth(token))
        assert (revoke.status_code, suspend.status_code) == (200, 200)
        personal += [request["fields"] for request in batch]
        single = client.post("/v1/documents", json=batch[-1], headers=auth(token))
        assert single.status_code == 201

    chain = _chain_text(chain_node.url)
    assert len(chain) > 10_000  # the scan read a real chain, with our anchors on it
    leaked = {what for fields in personal for what, needle in _guesses(fields).items() if needle in chain}
    assert leaked == set()


@pytest.mark.anvil_only  # anvil_dumpState
def test_the_scan_finds_a_value_put_on_chain(chain_node: ChainNode) -> None:
    """The scan itself can fail: a national id written into a transaction's input is found."""
    fields = {"owner": {"nationalId": "29012345678"}}
    account = _rpc(chain_node.url, [("eth_accounts", [])])[0][0]
    guesses = _guesses(fields)
    payload = "0x" + guesses["keccak(owner.nationalId)"] + bytes.fromhex(guesses["owner.nationalId as bytes"]).hex()
    (sent,) = _rpc(chain_node.url, [("eth_sendTransaction", [{"from": account, "to": account, "data": payload}])])
    _rpc(chain_node.url, [("evm_mine", [])])  # mined even if a test before left automining off
    (receipt,) = _rpc(chain_node.url, [("eth_getTransactionReceipt", [sent])])
    assert receipt is not None
    chain = _chain_text(chain_node.url)
    assert "keccak(owner.nationalId)" in {what for what, needle in guesses.items() if needle in chain}
    assert "owner.nationalId as bytes" in {what for what, needle in guesses.items() if needle in chain}
