"""Random sequences of registry calls on the real Anvil chain, checked against a Python model.

The machine registers agencies, adds, retires and extends issuer keys, anchors batches, revokes,
suspends and reinstates batches and single documents, pauses, moves the admin role and lets time
pass. Each call is made by a drawn caller: the rightful one, the admin, another agency's key, a key
out of its window, a pending or former admin, a stranger. The model says how the registry must
answer (the events of a success, or the custom error of a refusal); after every step the chain's
whole state is read back and compared with the model, and with what the chain showed before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from web3 import Web3
from web3.types import RPCEndpoint

from ledger.chain.anvil import AnvilProcess
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import deploy_registry
from ledger.chain.errors import ErrorDecoder
from tests.contracts.conftest import NO_END, VIEW_FIELDS, ZERO32, Registry, agency_bytes, pair, tree
from tests.profile import scaled

NONE, ACTIVE, SUSPENDED, REVOKED = 0, 1, 2, 3
ADMIN_ROLE = ZERO32
STRAY_ROLE = bytes(keccak(b"STRAY_ROLE"))  # a role the admin may grant but that no function checks
ZERO_ADDRESS = "0x" + "00" * 20
ADMIN_DELAY = 3600

# Time moves in big, known jumps, so a call's outcome never hangs on the second it lands in:
# key windows start and end WINDOW_STEP multiples from when they are set, a jump is TIME_STEP
# (past the admin delay), and MARGIN is more than one example's wall-clock drift.
TIME_STEP = 5_000
WINDOW_STEP = 2_500
MARGIN = 600
FAR_EXPIRY = 10**6

AGENCY_IDS = (agency_bytes("moci"), agency_bytes("qu"), agency_bytes("moph"), ZERO32)
AGENCY_NAMES = ("Ministry of Commerce", "Qatar University", "Ministry of Public Health", "")
KEY_ACTIONS = frozenset(
    {"anchor", "revoke", "suspend", "reinstate", "revokeDocument", "suspendDocument", "reinstateDocument"}
)
CALLER_KINDS = ("rightful",) * 4 + (
    "admin",
    "another agency's key",
    "a key out of its window",
    "a pending or former admin",
    "a stranger",
    "anyone",
)
PROOF_KINDS = st.sampled_from(("its own",) * 6 + ("another leaf's", "none"))
# Which batch or document a change aims at: any, or one suspended or revoked before, or (for
# batches) one never anchored.
TARGETS = ("any", "any", "one changed before", "one changed before", "never anchored")

# Two funded accounts beyond Anvil's five, so keys can rotate and strangers remain.
EXTRA_ACCOUNTS = [Account.from_key(bytes(keccak(b"sijill stateful account %d" % i))) for i in range(2)]

Refusal = tuple[str, dict[str, Any]]
Events = list[tuple[str, dict[str, Any]]]


@dataclass
class Key:
    """An issuer key as the model holds it."""

    agency: bytes
    valid_from: int
    valid_until: int
    frozen: bool


@dataclass
class Batch:
    """An anchored batch: its leaves, their proofs and its status."""

    agency: bytes
    key: str
    leaves: list[bytes]
    proofs: list[list[bytes]]
    count: int
    expires_at: int
    anchored_at: int
    anchored_block: int
    status: int = ACTIVE
    reason: int = 0


@dataclass
class Record:
    """A document's own record: the agency that changed it, its status and that agency's claim time."""

    agency: bytes
    status: int
    reason: int
    claimed_at: int


def proof_root(leaf: bytes, proof: list[bytes]) -> bytes:
    """The root a sorted-pair proof leads to from `leaf`."""
    node = leaf
    for sibling in proof:
        node = pair(node, sibling)
    return node


class ViewReader:
    """Many view calls in one JSON-RPC batch, encoded and decoded with eth-abi alone.

    After every step the invariant reads about fifty values; web3's contract layer spends about
    4 ms encoding and decoding each, which made the deep profile's 10,000 steps take a quarter
    of an hour. Answers come as web3 gives them: one output bare, several as a list, addresses
    checksummed.
    """

    def __init__(self, web3: Web3, address: str, abi: list[dict[str, Any]]) -> None:
        self.web3, self.address = web3, address
        self.functions = {item["name"]: item for item in abi if item["type"] == "function"}

    @staticmethod
    def _type(item: dict[str, Any]) -> str:
        if item["type"] == "tuple":
            return "(" + ",".join(ViewReader._type(component) for component in item["components"]) + ")"
        return str(item["type"])

    @staticmethod
    def _normal(item: dict[str, Any], value: Any) -> Any:
        if item["type"] == "address":
            return Web3.to_checksum_address(value)
        if item["type"] == "tuple":
            return tuple(ViewReader._normal(c, v) for c, v in zip(item["components"], value, strict=True))
        return value

    def calldata(self, function: str, args: tuple[Any, ...]) -> str:
        inputs = [self._type(item) for item in self.functions[function]["inputs"]]
        selector = keccak(f"{function}({','.join(inputs)})".encode())[:4]
        return "0x" + (selector + abi_encode(inputs, list(args))).hex()

    def read(self, calls: list[tuple[str, tuple[Any, ...]]]) -> dict[tuple[str, tuple[Any, ...]], Any]:
        batch = [
            (RPCEndpoint("eth_call"), [{"to": self.address, "data": self.calldata(*call)}, "latest"]) for call in calls
        ]
        answers = self.web3.provider.make_batch_request(batch)  # type: ignore[attr-defined]
        values = {}
        for call, answer in zip(calls, answers, strict=True):
            assert "error" not in answer, f"{call}: {answer['error']}"
            outputs = self.functions[call[0]]["outputs"]
            decoded = abi_decode([self._type(item) for item in outputs], bytes.fromhex(answer["result"][2:]))
            normal = [self._normal(item, value) for item, value in zip(outputs, decoded, strict=True)]
            values[call] = normal[0] if len(normal) == 1 else normal
        return values


class RegistryMachine(RuleBasedStateMachine):
    """One fresh registry per example, inside an Anvil snapshot that teardown reverts."""

    def __init__(self, web3: Web3, rpc_url: str, artifact: ContractArtifact, accounts: list[LocalAccount]) -> None:
        super().__init__()
        self.web3 = web3
        self.snapshot = web3.provider.make_request(RPCEndpoint("evm_snapshot"), [])["result"]
        for extra in accounts[5:]:
            web3.provider.make_request(RPCEndpoint("anvil_setBalance"), [extra.address, hex(10**21)])
        deployment = deploy_registry(web3, artifact, accounts[0], rpc_url=rpc_url, admin_transfer_delay=ADMIN_DELAY)
        contract = web3.eth.contract(address=Web3.to_checksum_address(deployment.address), abi=artifact.abi)
        self.registry = Registry(web3=web3, contract=contract, decoder=ErrorDecoder(artifact.abi))
        self.views = ViewReader(web3, contract.address, artifact.abi)
        self.event_names = {
            bytes(keccak(f"{item['name']}({','.join(arg['type'] for arg in item['inputs'])})".encode())): item["name"]
            for item in artifact.abi
            if item["type"] == "event"
        }
        self.accounts: dict[str, LocalAccount] = {account.address: account for account in accounts}
        self.addresses: list[str] = list(self.accounts)
        self.clock = self.registry.latest_time()
        # The model.
        self.admin: str = accounts[0].address
        self.pending: tuple[str, int] = (ZERO_ADDRESS, 0)
        self.former_admins: list[str] = []
        self.stray_holders: list[str] = []
        self.paused = False
        self.agencies: dict[bytes, str] = {}
        self.keys: dict[str, Key] = {}
        self.batches: dict[bytes, Batch] = {}
        self.records: dict[bytes, Record] = {}
        self.leaves: list[bytes] = []
        self.leaves_made = 0
        # What the chain has shown, kept apart from the model.
        self.seen_issued: set[bytes] = set()
        self.seen_revoked_batches: dict[bytes, int] = {}
        self.seen_revoked_documents: dict[bytes, tuple[bytes, int]] = {}

    def teardown(self) -> None:
        """Put the shared chain back as it was before the example."""
        reverted = self.web3.provider.make_request(RPCEndpoint("evm_revert"), [self.snapshot])["result"]
        assert reverted is True

    # Time.

    def read_clock(self) -> None:
        """Read the chain's time; every decision of the next call is taken against it.

        A success moves the clock to its block's time, which the model's updates then use.
        """
        self.clock = self.registry.latest_time()

    def has_passed(self, moment: int) -> bool:
        """Whether `moment` is at or before the time the next call will see."""
        assert not self.clock < moment <= self.clock + MARGIN, f"{moment} is too close to now ({self.clock}) to tell"
        return moment <= self.clock

    def in_window(self, key: Key) -> bool:
        """Whether the key's validity window holds the present."""
        return self.has_passed(key.valid_from) and not self.has_passed(key.valid_until)

    # Who may do what: the plain rule, independent of the contract's order of checks.

    def may_act(self, address: str) -> bool:
        """A key inside its window, with the registry not paused."""
        key = self.keys.get(address)
        return key is not None and not self.paused and self.in_window(key)

    def acting_keys(self, agency: bytes | None = None) -> list[str]:
        """Keys that may act now, of `agency` or of any."""
        return [a for a, key in self.keys.items() if self.may_act(a) and agency in (None, key.agency)]

    def changers(self, agency: bytes, admin_allowed: bool) -> list[str]:
        """Who may change the batches and documents of `agency`."""
        admin = [self.admin] if admin_allowed and not self.paused else []
        return self.acting_keys(agency) + admin

    # The contract's checks, in its order.

    def not_admin(self, caller: str) -> Refusal | None:
        if caller == self.admin:
            return None
        return ("AccessControlUnauthorizedAccount", {"account": caller, "neededRole": ADMIN_ROLE})

    def key_refusal(self, caller: str) -> Refusal | None:
        key = self.keys.get(caller)
        if key is None:
            return ("RegistryUnknownKey", {"key": caller})
        # `frozen` is the contract's own copy of the pause switch. It stays set on a key whose
        # window ended during a pause (unpause skips such keys), so that key hears EnforcedPause.
        if key.frozen:
            return ("EnforcedPause", {})
        if not self.in_window(key):
            return ("RegistryKeyNotValid", {"key": caller, "validFrom": key.valid_from, "validUntil": key.valid_until})
        return None

    def change_refusal(self, caller: str, agency: bytes, admin_allowed: bool) -> Refusal | None:
        key = self.keys.get(caller)
        if key is not None and key.agency == agency:  # the key is asked first, even when the caller is the admin
            return self.key_refusal(caller)
        if admin_allowed and caller == self.admin:
            return ("EnforcedPause", {}) if self.paused else None
        return ("RegistryUnauthorized", {"account": caller, "agencyId": agency})

    # Calls.

    def pick_caller(self, data: st.DataObject, rightful: list[str], agency: bytes | None = None) -> LocalAccount:
        """Draw who calls: the rightful caller most often, else someone who should be refused."""
        kind = data.draw(st.sampled_from(CALLER_KINDS), label="caller kind")
        pending = [self.pending[0]] if self.pending[0] != ZERO_ADDRESS else []
        by_kind: dict[str, list[str]] = {
            "rightful": rightful,
            "admin": [self.admin],
            "another agency's key": [a for a, key in self.keys.items() if key.agency != agency],
            "a key out of its window": [a for a, key in self.keys.items() if not self.in_window(key)],
            "a pending or former admin": pending + self.former_admins,
            "a stranger": [a for a in self.addresses if a not in self.keys and a != self.admin],
            "anyone": self.addresses,
        }
        candidates = [a for a in by_kind[kind] if a in self.accounts] or self.addresses
        address = data.draw(st.sampled_from(candidates), label="caller")
        return self.accounts[address]

    def attempt(
        self, caller: LocalAccount, function: str, args: tuple[Any, ...], refusal: Refusal | None, holders: list[str]
    ) -> dict[str, Any] | None:
        """Call `function`: it must be refused as `refusal` says, or else succeed. Returns a success's receipt."""
        if refusal is not None:
            try:
                name, got = self.registry.revert(caller, function, *args)
            except pytest.fail.Exception as error:  # the call did not revert
                raise AssertionError(f"{function} by {caller.address} succeeds; expected {refusal}") from error
            assert name == refusal[0], f"{function} by {caller.address}: {name} {got}, expected {refusal}"
            assert {field: got[field] for field in refusal[1]} == refusal[1], f"{function}: {got}, expected {refusal}"
            return None
        assert caller.address in holders, f"{function} by {caller.address}, who may not call it, would succeed"
        assert not (self.paused and function in KEY_ACTIONS), f"{function} would succeed while paused"
        receipt = self.registry.send(caller, function, *args)
        self.clock = self.registry.block_time(receipt)
        return receipt

    def assert_events(self, receipt: dict[str, Any], expected: Events) -> None:
        """The receipt holds exactly `expected`, in order, all emitted by the registry."""
        got = []
        for log in receipt["logs"]:
            assert log["address"] == self.registry.contract.address
            name = self.event_names[bytes(log["topics"][0])]
            got.append((name, dict(getattr(self.registry.contract.events, name)().process_log(log)["args"])))
        assert got == expected

    # Governance rules.

    def register(self, caller: LocalAccount, agency: bytes, name: str) -> None:
        refusal = self.not_admin(caller.address)
        if refusal is None and agency == ZERO32:
            refusal = ("RegistryInvalidAgencyId", {})
        if refusal is None and not name:
            refusal = ("RegistryEmptyAgencyName", {"agencyId": agency})
        if refusal is None and agency in self.agencies:
            refusal = ("RegistryAgencyAlreadyRegistered", {"agencyId": agency})
        receipt = self.attempt(caller, "registerAgency", (agency, name), refusal, [self.admin])
        if receipt is not None:
            self.assert_events(receipt, [("AgencyRegistered", {"agencyId": agency, "name": name})])
            self.agencies[agency] = name

    def add_key(self, caller: LocalAccount, agency: bytes, key: str, valid_from: int, valid_until: int) -> None:
        refusal = self.not_admin(caller.address)
        if refusal is None and agency not in self.agencies:
            refusal = ("RegistryUnknownAgency", {"agencyId": agency})
        if refusal is None and key == ZERO_ADDRESS:
            refusal = ("RegistryInvalidKey", {})
        if refusal is None and key in self.keys:
            refusal = ("RegistryKeyAlreadyRegistered", {"key": key})
        start, end = valid_from or self.clock, valid_until or NO_END
        if refusal is None and ((valid_from and self.has_passed(valid_from + 1)) or end <= start):
            refusal = (
                "RegistryInvalidValidityWindow",
                {"validUntil": end} | ({"validFrom": start} if valid_from else {}),
            )
        receipt = self.attempt(caller, "addIssuerKey", (agency, key, valid_from, valid_until), refusal, [self.admin])
        if receipt is not None:
            start = valid_from or self.clock
            self.assert_events(
                receipt,
                [("IssuerKeyAdded", {"agencyId": agency, "key": key, "validFrom": start, "validUntil": end})],
            )
            self.keys[key] = Key(agency, start, end, frozen=self.paused)

    @initialize()
    def open_with_two_agencies(self) -> None:
        """Start with two agencies, a key each and a retired one, and batches to work on.

        The first agency's batch is suspended and one of its documents revoked. The second agency
        anchors a copy of another of its documents later, and suspends the copy; it also anchors a
        single document and revokes it.
        """
        admin = self.accounts[self.admin]
        moci_key, qu_key, retired = self.addresses[1:4]
        for agency, name, key in zip(AGENCY_IDS[:2], AGENCY_NAMES[:2], (moci_key, qu_key), strict=True):
            self.register(admin, agency, name)
            self.add_key(admin, agency, key, 0, 0)
        self.add_key(admin, AGENCY_IDS[0], retired, 0, 0)
        self.set_key_end(admin, retired, 0)
        shared = self.new_leaf()
        self.anchor_batch(self.accounts[moci_key], [self.new_leaf(), self.new_leaf(), shared], 3, 0)
        self.let_time_pass()
        self.anchor_batch(self.accounts[qu_key], [shared, self.new_leaf()], 2, 0)
        self.anchor_batch(self.accounts[qu_key], [self.new_leaf()], 1, 0)
        first, copy, single = self.batches
        moci, qu = self.accounts[moci_key], self.accounts[qu_key]
        self.change_status(moci, "suspend", first, first, [], 1)
        self.change_status(
            moci, "revokeDocument", self.batches[first].leaves[0], first, self.batches[first].proofs[0], 2
        )
        self.change_status(qu, "suspendDocument", shared, copy, self.batches[copy].proofs[0], 3)
        self.change_status(qu, "revoke", single, single, [], 4)

    @rule(data=st.data(), agency=st.sampled_from(AGENCY_IDS), name=st.sampled_from(AGENCY_NAMES))
    def register_agency(self, data: st.DataObject, agency: bytes, name: str) -> None:
        self.read_clock()
        self.register(self.pick_caller(data, [self.admin]), agency, name)

    @rule(
        data=st.data(),
        agency=st.sampled_from(AGENCY_IDS),
        window=st.sampled_from(
            ("from now on", "from later on", "from now until later", "from later until later", "from the past", "empty")
        ),
    )
    def add_issuer_key(self, data: st.DataObject, agency: bytes, window: str) -> None:
        self.read_clock()
        later, much_later = self.clock + WINDOW_STEP, self.clock + 3 * WINDOW_STEP
        valid_from, valid_until = {
            "from now on": (0, 0),
            "from later on": (later, 0),
            "from now until later": (0, much_later),
            "from later until later": (later, much_later),
            "from the past": (1, 0),
            "empty": (later, later),
        }[window]
        key = data.draw(st.sampled_from([*self.addresses, ZERO_ADDRESS]), label="key")
        self.add_key(self.pick_caller(data, [self.admin]), agency, key, valid_from, valid_until)

    @rule(data=st.data(), end=st.sampled_from(("retire now", "later", "in the past")))
    def move_key_end(self, data: st.DataObject, end: str) -> None:
        """Retire a key (end 0: after the current second), move its end later, or try a past end."""
        self.read_clock()
        address = data.draw(st.sampled_from(list(self.keys) + self.addresses), label="key")
        caller = self.pick_caller(data, [self.admin])
        until = {"retire now": 0, "later": self.clock + 3 * WINDOW_STEP, "in the past": 1}[end]
        self.set_key_end(caller, address, until)

    def set_key_end(self, caller: LocalAccount, address: str, until: int) -> None:
        refusal = self.not_admin(caller.address)
        key = self.keys.get(address)
        if refusal is None and key is None:
            refusal = ("RegistryUnknownKey", {"key": address})
        if refusal is None and key is not None:
            empty = (
                (self.has_passed(until) or until <= key.valid_from) if until else not self.has_passed(key.valid_from)
            )
            if empty:
                refusal = (
                    "RegistryInvalidValidityWindow",
                    {"validFrom": key.valid_from} | ({"validUntil": until} if until else {}),
                )
        receipt = self.attempt(caller, "setIssuerKeyValidUntil", (address, until), refusal, [self.admin])
        if receipt is None or key is None:
            return
        key.valid_until = until or self.clock + 1
        key.frozen = self.paused
        self.assert_events(
            receipt,
            [("IssuerKeyValidUntilChanged", {"agencyId": key.agency, "key": address, "validUntil": key.valid_until})],
        )
        if not until:
            self.registry.mine_at(key.valid_until)  # from here on every call sees the key retired
            self.clock = key.valid_until

    @rule(data=st.data(), function=st.sampled_from(("pause", "unpause")))
    def pause_or_unpause(self, data: st.DataObject, function: str) -> None:
        """Pause, then try every change; or unpause, then anchor again."""
        self.read_clock()
        pausing = function == "pause"
        caller = self.pick_caller(data, [self.admin])
        refusal = self.not_admin(caller.address)
        if refusal is None and self.paused is pausing:
            refusal = ("EnforcedPause", {}) if pausing else ("ExpectedPause", {})
        receipt = self.attempt(caller, function, (), refusal, [self.admin])
        if receipt is None:
            return
        self.assert_events(receipt, [("Paused" if pausing else "Unpaused", {"account": caller.address})])
        self.set_paused(pausing)
        if pausing:
            self.try_every_change()
        elif self.acting_keys():
            assert self.anchor_batch(self.accounts[self.acting_keys()[0]], [self.new_leaf()], 1, 0), "still stopped"

    def try_every_change(self) -> None:
        """Every kind of change, by whoever could make it unpaused: the attempts show each refusal."""
        for address, key in self.keys.items():
            if self.in_window(key):
                self.anchor_batch(self.accounts[address], [self.new_leaf()], 1, 0)
        for root, batch in list(self.batches.items())[:3]:
            keys = [a for a, key in self.keys.items() if key.agency == batch.agency and self.in_window(key)]
            for caller in [self.accounts[a] for a in [*keys, self.admin]]:
                for function in ("revoke", "suspend", "reinstate"):
                    self.change_status(caller, function, root, root, [], 1)
                for function in ("revokeDocument", "suspendDocument", "reinstateDocument"):
                    self.change_status(caller, function, batch.leaves[0], root, batch.proofs[0], 1)

    def set_paused(self, paused: bool) -> None:
        """The switch, and the frozen flag of every key whose window has not ended."""
        self.paused = paused
        for key in self.keys.values():
            if not self.has_passed(key.valid_until):
                key.frozen = paused

    @rule()
    def let_time_pass(self) -> None:
        """Jump TIME_STEP seconds: windows open and close, the admin delay elapses."""
        self.clock = self.registry.latest_time() + TIME_STEP
        self.registry.mine_at(self.clock)

    @rule(data=st.data(), step=st.sampled_from(("begin", "accept", "accept after the delay", "cancel")))
    def transfer_admin_role(self, data: st.DataObject, step: str) -> None:
        """The two-step admin transfer: begin (to anyone), accept (before or after the delay), or cancel."""
        if step == "accept after the delay":
            self.let_time_pass()
        self.read_clock()
        {
            "begin": self.begin_admin_transfer,
            "accept": self.accept_admin_transfer,
            "accept after the delay": self.accept_admin_transfer,
            "cancel": self.cancel_admin_transfer,
        }[step](data)

    def begin_admin_transfer(self, data: st.DataObject) -> None:
        successor = data.draw(st.sampled_from(self.addresses), label="successor")
        caller = self.pick_caller(data, [self.admin])
        receipt = self.attempt(
            caller, "beginDefaultAdminTransfer", (successor,), self.not_admin(caller.address), [self.admin]
        )
        if receipt is None:
            return
        schedule = self.clock + ADMIN_DELAY
        canceled: Events = [("DefaultAdminTransferCanceled", {})] if self.pending[1] else []
        self.assert_events(
            receipt, [*canceled, ("DefaultAdminTransferScheduled", {"newAdmin": successor, "acceptSchedule": schedule})]
        )
        self.pending = (successor, schedule)

    def cancel_admin_transfer(self, data: st.DataObject) -> None:
        caller = self.pick_caller(data, [self.admin])
        receipt = self.attempt(caller, "cancelDefaultAdminTransfer", (), self.not_admin(caller.address), [self.admin])
        if receipt is not None:
            self.assert_events(receipt, [("DefaultAdminTransferCanceled", {})] if self.pending[1] else [])
            self.pending = (ZERO_ADDRESS, 0)

    def accept_admin_transfer(self, data: st.DataObject) -> None:
        successor, schedule = self.pending
        due = schedule != 0 and self.has_passed(schedule + 1)
        holders = [successor] if due else []
        caller = self.pick_caller(data, [successor])
        refusal: Refusal | None = None
        if caller.address != successor:
            refusal = ("AccessControlInvalidDefaultAdmin", {"defaultAdmin": caller.address})
        elif not due:
            refusal = ("AccessControlEnforcedDefaultAdminDelay", {"schedule": schedule})
        receipt = self.attempt(caller, "acceptDefaultAdminTransfer", (), refusal, holders)
        if receipt is None:
            return
        self.assert_events(
            receipt,
            [
                ("RoleRevoked", {"role": ADMIN_ROLE, "account": self.admin, "sender": successor}),
                ("RoleGranted", {"role": ADMIN_ROLE, "account": successor, "sender": successor}),
            ],
        )
        self.former_admins = [a for a in [*self.former_admins, self.admin] if a != successor]
        self.admin, self.pending = successor, (ZERO_ADDRESS, 0)

    @rule(
        data=st.data(),
        function=st.sampled_from(("grantRole", "revokeRole", "renounceRole")),
        role=st.sampled_from((ADMIN_ROLE, STRAY_ROLE)),
    )
    def change_a_role(self, data: st.DataObject, function: str, role: bytes) -> None:
        """The admin role moves only by the two-step transfer; other roles give no power."""
        self.read_clock()
        account = data.draw(st.sampled_from(self.addresses), label="account")
        caller = self.pick_caller(data, [self.admin] if function != "renounceRole" else [account])
        refusal: Refusal | None = None
        holders = [self.admin]
        if function == "renounceRole":
            holders = [account]
            if role == ADMIN_ROLE and account == self.admin:  # only after a due transfer to no one, never made here
                refusal = ("AccessControlEnforcedDefaultAdminDelay", {"schedule": self.pending[1]})
            elif account != caller.address:
                refusal = ("AccessControlBadConfirmation", {})
        elif role == ADMIN_ROLE:
            refusal = ("AccessControlEnforcedDefaultAdminRules", {})
        else:
            refusal = self.not_admin(caller.address)
        receipt = self.attempt(caller, function, (role, account), refusal, holders)
        if receipt is None:
            return
        holds = role == STRAY_ROLE and account in self.stray_holders
        expected: Events = []
        if function == "grantRole" and not holds:
            expected = [("RoleGranted", {"role": role, "account": account, "sender": caller.address})]
            self.stray_holders.append(account)
        elif function != "grantRole" and holds:
            expected = [("RoleRevoked", {"role": role, "account": account, "sender": caller.address})]
            self.stray_holders.remove(account)
        self.assert_events(receipt, expected)

    # Document rules.

    def new_leaf(self) -> bytes:
        self.leaves_made += 1
        return bytes(keccak(b"stateful leaf %d" % self.leaves_made))

    def draw_leaves(self, data: st.DataObject) -> list[bytes]:
        """1 to 4 leaves, some already in other batches; now and then a whole batch's leaves again."""
        if self.batches and data.draw(st.integers(0, 7), label="a batch again") == 7:
            return list(self.batches[data.draw(st.sampled_from(list(self.batches)), label="batch root")].leaves)
        leaves: list[bytes] = []
        for _ in range(data.draw(st.integers(1, 4), label="size")):
            reuse = self.leaves and data.draw(st.integers(0, 3), label="a known leaf") == 3
            leaf = data.draw(st.sampled_from(self.leaves)) if reuse else self.new_leaf()
            if leaf not in leaves:
                leaves.append(leaf)
        return leaves

    @rule(
        data=st.data(),
        count=st.sampled_from(("as many as leaves",) * 5 + ("zero",)),
        expiry=st.sampled_from(("never", "never", "far ahead", "far ahead", "in the past")),
    )
    def anchor(self, data: st.DataObject, count: str, expiry: str) -> None:
        self.read_clock()
        leaves = self.draw_leaves(data)
        documents = len(leaves) if count != "zero" else 0
        expires_at = {"never": 0, "far ahead": self.clock + FAR_EXPIRY, "in the past": 1}[expiry]
        self.anchor_batch(self.pick_caller(data, self.acting_keys()), leaves, documents, expires_at)

    def anchor_batch(self, caller: LocalAccount, leaves: list[bytes], documents: int, expires_at: int) -> bool:
        """Anchor `leaves`; whether it was done."""
        root, proofs = tree(leaves)
        refusal = self.key_refusal(caller.address)
        if refusal is None and documents == 0:
            refusal = ("RegistryInvalidDocumentCount", {})
        if refusal is None and expires_at and self.has_passed(expires_at):
            refusal = ("RegistryExpiryInPast", {"expiresAt": expires_at})
        if refusal is None and root in self.batches:
            refusal = ("RegistryRootAlreadyAnchored", {"root": root})
        receipt = self.attempt(caller, "anchor", (root, documents, expires_at), refusal, self.acting_keys())
        if receipt is None:
            return False
        now = self.clock
        self.assert_events(
            receipt,
            [
                (
                    "Anchored",
                    {
                        "root": root,
                        "key": caller.address,
                        "documentCount": documents,
                        "expiresAt": expires_at,
                        "at": now,
                    },
                )
            ],
        )
        agency = self.keys[caller.address].agency
        self.batches[root] = Batch(
            agency, caller.address, leaves, proofs, documents, expires_at, now, receipt["blockNumber"]
        )
        self.leaves.extend(leaf for leaf in leaves if leaf not in self.leaves)
        return True

    @precondition(lambda self: bool(self.batches))
    @rule(data=st.data(), reason=st.integers(0, 255))
    def revoke_batch(self, data: st.DataObject, reason: int) -> None:
        self.change_batch(data, "revoke", reason)

    @precondition(lambda self: bool(self.batches))
    @rule(data=st.data(), reason=st.integers(0, 255))
    def suspend_batch(self, data: st.DataObject, reason: int) -> None:
        self.change_batch(data, "suspend", reason)

    @precondition(lambda self: bool(self.batches))
    @rule(data=st.data())
    def reinstate_batch(self, data: st.DataObject) -> None:
        self.change_batch(data, "reinstate", 0)

    def change_batch(self, data: st.DataObject, function: str, reason: int) -> None:
        """Revoke, suspend or reinstate a whole batch (now and then one never anchored)."""
        self.read_clock()
        target = data.draw(st.sampled_from(TARGETS), label="target")
        changed = [root for root, batch in self.batches.items() if batch.status in (SUSPENDED, REVOKED)]
        roots = changed if target == "one changed before" and changed else list(self.batches)
        root = self.new_leaf() if target == "never anchored" else data.draw(st.sampled_from(roots), label="root")
        caller = self.pick_caller(data, self.changers_of(root, function), self.agency_of(root))
        self.change_status(caller, function, root, root, [], reason)

    @precondition(lambda self: bool(self.batches))
    @rule(data=st.data(), proof_kind=PROOF_KINDS, reason=st.integers(0, 255))
    def revoke_document(self, data: st.DataObject, proof_kind: str, reason: int) -> None:
        self.change_document(data, "revokeDocument", proof_kind, reason)

    @precondition(lambda self: bool(self.batches))
    @rule(data=st.data(), proof_kind=PROOF_KINDS, reason=st.integers(0, 255))
    def suspend_document(self, data: st.DataObject, proof_kind: str, reason: int) -> None:
        self.change_document(data, "suspendDocument", proof_kind, reason)

    @precondition(lambda self: bool(self.batches))
    @rule(data=st.data(), proof_kind=PROOF_KINDS)
    def reinstate_document(self, data: st.DataObject, proof_kind: str) -> None:
        self.change_document(data, "reinstateDocument", proof_kind, 0)

    def change_document(self, data: st.DataObject, function: str, proof_kind: str, reason: int) -> None:
        """Revoke, suspend or reinstate one document, proven by its proof (or by a wrong one)."""
        self.read_clock()
        changed = [leaf for leaf, record in self.records.items() if record.status in (SUSPENDED, REVOKED)]
        if data.draw(st.sampled_from(TARGETS[:-1]), label="target") == "one changed before" and changed:
            leaf = data.draw(st.sampled_from(changed), label="document")
            holding = [root for root, batch in self.batches.items() if leaf in batch.leaves]
            chosen = self.batches[data.draw(st.sampled_from(holding), label="batch root")]
            index = chosen.leaves.index(leaf)
        else:
            chosen = self.batches[data.draw(st.sampled_from(list(self.batches)), label="batch root")]
            index = data.draw(st.integers(0, len(chosen.leaves) - 1), label="leaf")
        other = (index + 1) % len(chosen.leaves)
        proof = {"its own": chosen.proofs[index], "another leaf's": chosen.proofs[other], "none": []}[proof_kind]
        root = proof_root(chosen.leaves[index], proof)  # where the proof leads, which the contract trusts
        caller = self.pick_caller(data, self.changers_of(root, function), self.agency_of(root))
        self.change_status(caller, function, chosen.leaves[index], root, proof, reason)

    def changers_of(self, root: bytes, function: str) -> list[str]:
        """Who may call `function` on the batch `root` or its documents."""
        batch = self.batches.get(root)
        return self.changers(batch.agency, function.startswith("revoke")) if batch else []

    def agency_of(self, root: bytes) -> bytes | None:
        batch = self.batches.get(root)
        return batch.agency if batch else None

    def change_status(
        self, caller: LocalAccount, function: str, hash_: bytes, root: bytes, proof: list[bytes], reason: int
    ) -> None:
        """Revoke, suspend or reinstate the batch `root` (`hash_` is `root`) or its document `hash_`."""
        batch = self.batches.get(root)
        admin_allowed = function.startswith("revoke")
        if function.endswith("Document"):
            refusal, status, claimed_at = self.document_refusal(caller.address, hash_, root, admin_allowed)
            args: tuple[Any, ...] = (hash_, proof)
        elif batch is None:
            refusal, status, claimed_at = ("RegistryNotAnchored", {"root": root}), NONE, 0
            args = (root,)
        else:
            refusal, status, claimed_at = (
                self.change_refusal(caller.address, batch.agency, admin_allowed),
                batch.status,
                0,
            )
            args = (root,)
        refusal = refusal or self.status_refusal(function, status, hash_)
        if not function.startswith("reinstate"):
            args = (*args, reason)
        receipt = self.attempt(caller, function, args, refusal, self.changers_of(root, function))
        if receipt is None or batch is None:
            return
        status, reason = self.apply(function, reason)
        if function.endswith("Document"):
            self.records[hash_] = Record(batch.agency, status, reason, claimed_at)
        else:
            batch.status, batch.reason = status, reason
        self.assert_events(receipt, self.status_events(function, hash_, root, caller.address, reason))
        if function.startswith("revoke"):  # the revoker and the agency's keys try at once to bring it back
            for address in dict.fromkeys([caller.address, *self.acting_keys(batch.agency)]):
                for undo in ("reinstate", "suspend", "revoke"):
                    undo_function = undo + function.removeprefix("revoke")  # "reinstate" or "reinstateDocument"...
                    self.change_status(self.accounts[address], undo_function, hash_, root, proof, reason)

    def document_refusal(
        self, caller: str, leaf: bytes, root: bytes, admin_allowed: bool
    ) -> tuple[Refusal | None, int, int]:
        """The contract's `_documentOf`: the refusal, else the status the caller's agency sees and its claim time.

        A record belongs to the agency that claims the earliest batch holding the document among
        the batches its changes went through; a later claim is refused, an earlier one starts afresh.
        """
        batch = self.batches.get(root)
        if batch is None:
            return ("RegistryNotAnchored", {"root": root}), NONE, 0
        refusal = self.change_refusal(caller, batch.agency, admin_allowed)
        if refusal is None and batch.status == REVOKED:
            refusal = ("RegistryAlreadyRevoked", {"hash": root})
        record = self.records.get(leaf)
        if refusal is not None or record is None:
            return refusal, NONE, batch.anchored_at
        if record.agency == batch.agency:
            return None, record.status, min(record.claimed_at, batch.anchored_at)
        if batch.anchored_at >= record.claimed_at:
            return ("RegistryDocumentOwnedByOtherAgency", {"targetHash": leaf, "owner": record.agency}), NONE, 0
        return None, NONE, batch.anchored_at

    @staticmethod
    def status_refusal(function: str, status: int, hash_: bytes) -> Refusal | None:
        """Revocation is final; only an active thing is suspended; only a suspended one is reinstated."""
        if function.startswith("reinstate"):
            return None if status == SUSPENDED else ("RegistryNotSuspended", {"hash": hash_})
        if status == REVOKED:
            return ("RegistryAlreadyRevoked", {"hash": hash_})
        if function.startswith("suspend") and status == SUSPENDED:
            return ("RegistryAlreadySuspended", {"hash": hash_})
        return None

    @staticmethod
    def apply(function: str, reason: int) -> tuple[int, int]:
        """The status and reason a successful change leaves."""
        if function.startswith("revoke"):
            return REVOKED, reason
        if function.startswith("suspend"):
            return SUSPENDED, reason
        return ACTIVE, 0

    def status_events(self, function: str, hash_: bytes, root: bytes, caller: str, reason: int) -> Events:
        """The event a successful change emits."""
        at = self.clock
        if function.startswith("reinstate"):
            return [("Reinstated", {"hash": hash_, "by": caller, "root": root, "at": at})]
        name = "Revoked" if function.startswith("revoke") else "Suspended"
        return [(name, {"hash": hash_, "by": caller, "root": root, "reason": reason, "at": at})]

    # Invariants.

    @invariant()
    def chain_matches_model(self) -> None:
        """Read back everything the registry holds and compare it with the model and with the past."""
        hashes = [*self.batches, *(leaf for leaf in self.leaves if leaf not in self.batches)]
        read = self.read_all(
            [("paused", ()), ("defaultAdmin", ()), ("pendingDefaultAdmin", ())]
            + [("hasRole", (role, a)) for a in self.addresses for role in (ADMIN_ROLE, STRAY_ROLE)]
            + [("issuerKey", (a,)) for a in self.addresses]
            + [("agency", (agency,)) for agency in AGENCY_IDS]
            + [(function, (h,)) for h in hashes for function in ("isIssued", "isRevoked")]
            + [("inspect", (h, h)) for h in hashes]
        )
        assert read["paused", ()] is self.paused
        assert read["defaultAdmin", ()] == self.admin
        assert tuple(read["pendingDefaultAdmin", ()]) == self.pending
        for address in self.addresses:
            assert read["hasRole", (ADMIN_ROLE, address)] is (address == self.admin)
            assert read["hasRole", (STRAY_ROLE, address)] is (address in self.stray_holders)
            key = self.keys.get(address)
            expected_key = (key.agency, key.valid_from, key.valid_until) if key else (ZERO32, 0, 0)
            assert tuple(read["issuerKey", (address,)]) == expected_key
        for agency in AGENCY_IDS:
            name = self.agencies.get(agency)
            assert tuple(read["agency", (agency,)]) == ((True, name) if name else (False, ""))
        for hash_ in hashes:
            view = dict(zip(VIEW_FIELDS, read["inspect", (hash_, hash_)], strict=True))
            self.check_hash(hash_, read["isIssued", (hash_,)], read["isRevoked", (hash_,)], view)

    def read_all(self, calls: list[tuple[str, tuple[Any, ...]]]) -> dict[tuple[str, tuple[Any, ...]], Any]:
        """Many reads in one JSON-RPC batch, by function and arguments."""
        return self.views.read(calls)

    def check_hash(self, hash_: bytes, issued: bool, revoked: bool, view: dict[str, Any]) -> None:
        """One root or target hash: the reads agree with the model, and nothing final was undone."""
        batch, record = self.batches.get(hash_), self.records.get(hash_)
        assert issued is (batch is not None)
        stopped = (SUSPENDED, REVOKED)
        assert revoked is (
            (batch is not None and batch.status in stopped) or (record is not None and record.status in stopped)
        )
        expected_document = (record.status, record.reason, record.agency) if record else (NONE, 0, ZERO32)
        assert (view["documentStatus"], view["documentReason"], view["documentAgencyId"]) == expected_document
        assert view["paused"] is self.paused
        if batch is not None:
            key = self.keys[batch.key]
            assert view == view | {
                "agencyId": batch.agency,
                "key": batch.key,
                "keyValidFrom": key.valid_from,
                "keyValidUntil": key.valid_until,
                "anchoredAt": batch.anchored_at,
                "anchoredBlock": batch.anchored_block,
                "expiresAt": batch.expires_at,
                "documentCount": batch.count,
                "batchStatus": batch.status,
                "batchReason": batch.reason,
            }
        else:
            assert (view["agencyId"], view["key"], view["batchStatus"]) == (ZERO32, ZERO_ADDRESS, NONE)
        # What the chain showed before, whatever the model says.
        if hash_ in self.seen_issued:
            assert issued, f"{hash_.hex()} was issued and no longer is"
        if hash_ in self.seen_revoked_batches:
            assert (view["batchStatus"], view["batchReason"], revoked) == (
                REVOKED,
                self.seen_revoked_batches[hash_],
                True,
            )
        if hash_ in self.seen_revoked_documents:
            owner, claimed_at = self.seen_revoked_documents[hash_]
            if (view["documentStatus"], view["documentAgencyId"]) != (REVOKED, owner):
                # Only an agency with an earlier claim may take a revoked document's record over.
                assert view["documentAgencyId"] != owner, f"{hash_.hex()} was revoked and came back"
                assert record is not None
                assert record.claimed_at < claimed_at, f"{hash_.hex()} was taken over by a later claim"
        if issued:
            self.seen_issued.add(hash_)
        if view["batchStatus"] == REVOKED:
            self.seen_revoked_batches[hash_] = view["batchReason"]
        if view["documentStatus"] == REVOKED and record is not None:
            self.seen_revoked_documents[hash_] = (view["documentAgencyId"], record.claimed_at)


def test_registry_keeps_its_rules_under_random_calls(
    web3: Web3, anvil: AnvilProcess, artifact: ContractArtifact, accounts: list[LocalAccount]
) -> None:
    """Random sequences of calls, each example on a fresh registry inside a snapshot of the shared chain."""

    class Machine(RegistryMachine):
        def __init__(self) -> None:
            super().__init__(web3, anvil.url, artifact, [*accounts, *EXTRA_ACCOUNTS])

    # No shrinking: on Anvil it runs into Hypothesis's five-minute limit. A failure prints its whole
    # sequence at once; add Phase.shrink here to minimise one while debugging.
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=scaled(12, 200),
            stateful_step_count=scaled(25, 50),
            deadline=None,
            phases=(Phase.explicit, Phase.reuse, Phase.generate),
        ),
    )
