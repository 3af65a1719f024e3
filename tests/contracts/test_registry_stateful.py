"""Random sequences of registry calls on the real Anvil chain, checked against a Python model.

The machine admits, freezes, unfreezes and removes agencies and names their admins, adds, retires
and extends keys, anchors, revokes, suspends and reinstates batches and documents, revokes in an
emergency, pauses, unpauses, names guardians, moves the council role and lets time pass. Each call
is made by a drawn caller: the rightful one, the council (one address, standing for its members at
the threshold; the M-of-N is tested elsewhere), a council member alone, a guardian, an agency's
admin, a pending or former council or admin, another agency's key, a key out of its window, a
frozen agency's key, a stranger. The model says how the registry must answer (a success's events,
or a refusal's custom error); after every step the chain's whole state is compared with the model
and with what it showed before (nothing revoked comes back), and every success so far with the
power it needed: no single key admits an agency, revokes another's document, unpauses, changes the
council or moves an agency's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
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

from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import deploy_registry
from ledger.chain.errors import ErrorDecoder
from tests.contracts.conftest import NO_END, VIEW_FIELDS, ZERO32, Registry, agency_bytes, pair, tree
from tests.nodes import ChainNode
from tests.profile import scaled

NONE, ACTIVE, SUSPENDED, REVOKED = 0, 1, 2, 3  # a batch's or a document's status
AGENCY_ACTIVE, FROZEN, REMOVED = 1, 2, 3  # an agency's standing (0 is None, as for a status)
ADMIN_ROLE = ZERO32
GUARDIAN_ROLE = bytes(keccak(b"GUARDIAN_ROLE"))
STRAY_ROLE = bytes(keccak(b"STRAY_ROLE"))  # a role the council may grant but that no function checks
ROLES = (ADMIN_ROLE, GUARDIAN_ROLE, STRAY_ROLE)
ZERO_ADDRESS = "0x" + "00" * 20
ADMIN_DELAY = 3600

# Time moves in big, known jumps, so a call's outcome never hangs on the second it lands in:
# key windows start and end WINDOW_STEP multiples from when they are set, a jump is TIME_STEP
# (past the council transfer delay), and MARGIN is more than one example's wall-clock drift.
TIME_STEP = 5_000
WINDOW_STEP = 2_500
MARGIN = 600
FAR_EXPIRY = 10**6

AGENCY_IDS = (agency_bytes("moci"), agency_bytes("qu"), agency_bytes("moph"), ZERO32)
AGENCY_NAMES = ("Ministry of Commerce", "Qatar University", "Ministry of Public Health", "")
KEY_ACTIONS = frozenset(
    {"anchor", "revoke", "suspend", "reinstate", "revokeDocument", "suspendDocument", "reinstateDocument"}
)
CALLER_KINDS = ("rightful",) * 8 + (
    *("the council", "a council member below the threshold", "a guardian", "an agency's admin"),
    *("the pending council", "a former council or agency admin", "another agency's key"),
    *("a key out of its window", "a frozen or removed agency's key", "a stranger", "anyone"),
)
PROOF_KINDS = st.sampled_from(("its own",) * 6 + ("another leaf's", "none"))
# Which batch or document a change aims at: any, or one suspended or revoked before, or (for
# batches) one never anchored.
TARGETS = ("any", "any", "one changed before", "one changed before", "never anchored")

# Anvil's ten accounts: 0 the council, 9 the first guardian, 5 to 7 the agencies' admins, 1 to 3 the
# first keys. Beyond them, four to rotate keys and admins through, and two council members, who act
# alone here and are named for nothing (the council's one address stands for them at the threshold).
EXTRA_ACCOUNTS = [Account.from_key(bytes(keccak(b"sijill stateful account %d" % i))) for i in range(6)]
MEMBERS = tuple(account.address for account in EXTRA_ACCOUNTS[4:])
COUNCIL = ("council", ZERO32)
PENDING = ("pending council", ZERO32)
GUARDIAN = ("guardian", ZERO32)
STRAY = ("stray", ZERO32)

Refusal = tuple[str, dict[str, Any]]
Events = list[tuple[str, dict[str, Any]]]
Role = tuple[str, bytes]  # ("council" | "pending council" | "guardian" | "stray", ZERO32), ("admin" | "key", agency)


@dataclass
class Agency:
    """An agency as the model holds it."""

    name: str
    admin: str
    status: int = AGENCY_ACTIVE


@dataclass
class Key:
    """An issuer key as the model holds it."""

    agency: bytes
    valid_from: int
    valid_until: int


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


@dataclass(frozen=True)
class Deed:
    """An event of a success: who sent it, what the sender held then, and the powers that may emit it."""

    event: str
    sender: str
    standing: frozenset[Role]
    powers: frozenset[Role]


def proof_root(leaf: bytes, proof: list[bytes]) -> bytes:
    """The root a sorted-pair proof leads to from `leaf`."""
    node = leaf
    for sibling in proof:
        node = pair(node, sibling)
    return node


class ViewReader:
    """Many view calls in one JSON-RPC batch, encoded and decoded with eth-abi alone.

    After every step the invariant reads about a hundred values; web3's contract layer spends about
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
        for extra in accounts[10:]:
            # Anvil takes Hardhat's name for it too
            web3.provider.make_request(RPCEndpoint("hardhat_setBalance"), [extra.address, hex(10**21)])
        deployment = deploy_registry(
            web3,
            artifact,
            accounts[0],
            rpc_url=rpc_url,
            admin_transfer_delay=ADMIN_DELAY,
            guardians=[accounts[9].address],
        )
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
        self.nameable = [a for a in self.addresses if a not in MEMBERS]  # who may be named admin, key, guardian...
        self.designated_admins = self.addresses[5:8]
        self.clock = self.registry.latest_time()
        # The model.
        self.council: str = accounts[0].address
        self.pending: tuple[str, int] = (ZERO_ADDRESS, 0)
        self.former: list[str] = []  # former councils and agency admins
        self.holders: dict[bytes, list[str]] = {GUARDIAN_ROLE: [accounts[9].address], STRAY_ROLE: []}
        self.paused = False
        self.agencies: dict[bytes, Agency] = {}
        self.keys: dict[str, Key] = {}
        self.credential_keys: dict[bytes, Key] = {}  # by keccak256 of the public key
        self.credential_points = [bytes([2 + i % 2]) + keccak(bytes([i])) for i in range(4)]  # 33-byte points
        self.batches: dict[bytes, Batch] = {}
        self.records: dict[bytes, Record] = {}
        self.leaves: list[bytes] = []
        self.leaves_made = 0
        self.deeds: list[Deed] = []
        # What the chain has shown, kept apart from the model.
        self.seen_issued: set[bytes] = set()
        self.seen_revoked_batches: dict[bytes, int] = {}
        self.seen_revoked_documents: dict[bytes, tuple[int, bytes]] = {}

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

    # Who holds what, and who may do what: the plain rule, independent of the contract's order of checks.

    def standing(self, address: str) -> frozenset[Role]:
        """Everything `address` holds now."""
        roles: set[Role] = {("admin", agency) for agency, record in self.agencies.items() if record.admin == address}
        held = (address == self.council, address == self.pending[0], *(address in self.holders[r] for r in ROLES[1:]))
        roles |= {role for role, holds in zip((COUNCIL, PENDING, GUARDIAN, STRAY), held, strict=True) if holds}
        return frozenset(roles | ({("key", self.keys[address].agency)} if address in self.keys else set()))

    def governs(self, address: str) -> bool:
        """The council, its pending successor, a guardian, or an agency's admin (a removed one's too)."""
        return any(role in ("council", "pending council", "guardian", "admin") for role, _ in self.standing(address))

    def active(self, agency: bytes) -> bool:
        return self.agencies[agency].status == AGENCY_ACTIVE

    def may_act(self, address: str) -> bool:
        """A key inside its window, of an active agency, with the registry not paused."""
        key = self.keys.get(address)
        return key is not None and not self.paused and self.in_window(key) and self.active(key.agency)

    def acting_keys(self, agency: bytes | None = None) -> list[str]:
        """Keys that may act now, of `agency` or of any."""
        return [a for a, key in self.keys.items() if self.may_act(a) and agency in (None, key.agency)]

    def admin_of(self, agency: bytes) -> list[str]:
        """Who manages the keys of `agency`: its admin while it is active."""
        record = self.agencies.get(agency)
        return [record.admin] if record and record.status == AGENCY_ACTIVE else []

    # The contract's checks, in its order.

    def not_holder(self, caller: str, role: bytes) -> Refusal | None:
        holds = caller == self.council if role == ADMIN_ROLE else caller in self.holders[role]
        return None if holds else ("AccessControlUnauthorizedAccount", {"account": caller, "neededRole": role})

    def unknown_agency(self, agency: bytes) -> Refusal | None:
        return None if agency in self.agencies else ("RegistryUnknownAgency", {"agencyId": agency})

    def admin_refusal(self, caller: str, agency: bytes, *, even_frozen: bool = False) -> Refusal | None:
        """`_requireAgencyAdmin`: the agency's own admin, and the agency active (unless `even_frozen`)."""
        if caller != self.agencies[agency].admin:
            return ("RegistryNotAgencyAdmin", {"account": caller, "agencyId": agency})
        return None if self.active(agency) or even_frozen else ("RegistryAgencyFrozen", {"agencyId": agency})

    def new_admin_refusal(self, admin: str) -> Refusal | None:
        """`_requireNewGovernor`: non-zero, no issuer key, no agency's admin yet (a removed agency's included)."""
        if admin == ZERO_ADDRESS:
            return ("RegistryInvalidAdmin", {})
        if admin in self.keys:
            return ("RegistryGovernorCannotIssue", {"account": admin})
        if any(record.admin == admin for record in self.agencies.values()):
            return ("RegistryAdminAlreadyAssigned", {"account": admin})
        return None

    def key_refusal(self, caller: str) -> Refusal | None:
        """A key action's checks: a known key, inside its window, not paused, its agency active; in that order."""
        key = self.keys.get(caller)
        if key is None:
            return ("RegistryUnknownKey", {"key": caller})
        if not self.in_window(key):
            return ("RegistryKeyNotValid", {"key": caller, "validFrom": key.valid_from, "validUntil": key.valid_until})
        if self.paused:
            return ("EnforcedPause", {})
        return None if self.active(key.agency) else ("RegistryAgencyFrozen", {"agencyId": key.agency})

    def change_refusal(self, caller: str, agency: bytes) -> Refusal | None:
        """Only a key of the agency whose batch it is changes it (the council never directly)."""
        key = self.keys.get(caller)
        if key is None or key.agency != agency:
            return ("RegistryUnauthorized", {"account": caller, "agencyId": agency})
        return self.key_refusal(caller)

    # Calls.

    def pick_caller(self, data: st.DataObject, rightful: list[str], agency: bytes | None = None) -> LocalAccount:
        """Draw who calls: the rightful caller most often, else someone who should be refused."""
        kind = data.draw(st.sampled_from(CALLER_KINDS), label="caller kind")
        keys = self.keys.items()
        by_kind: dict[str, list[str]] = {
            "rightful": rightful,
            "the council": [self.council],
            "a council member below the threshold": list(MEMBERS),
            "a guardian": self.holders[GUARDIAN_ROLE],
            "an agency's admin": [record.admin for record in self.agencies.values()],
            "the pending council": [self.pending[0]],
            "a former council or agency admin": [a for a in self.former if not self.governs(a)],
            "another agency's key": [a for a, key in keys if key.agency != agency],
            "a key out of its window": [a for a, key in keys if not self.in_window(key)],
            "a frozen or removed agency's key": [a for a, key in keys if not self.active(key.agency)],
            "a stranger": [a for a in self.nameable if not self.standing(a)],
            "anyone": self.addresses,
        }
        candidates = [a for a in dict.fromkeys(by_kind[kind]) if a in self.accounts] or self.addresses
        address = data.draw(st.sampled_from(candidates), label="caller")
        return self.accounts[address]

    def attempt(
        self, caller: LocalAccount, function: str, args: tuple[Any, ...], refusal: Refusal | None, holders: list[str]
    ) -> dict[str, Any] | None:
        """Call `function`: refused as `refusal` says, or else a success, whose receipt holds its "events"."""
        if refusal is not None:
            try:
                name, got = self.registry.revert(caller, function, *args)
            except pytest.fail.Exception as error:  # the call did not revert
                raise AssertionError(f"{function} by {caller.address} succeeds; expected {refusal}") from error
            assert name == refusal[0], f"{function} by {caller.address}: {name} {got}, expected {refusal}"
            assert {field: got[field] for field in refusal[1]} == refusal[1], f"{function}: {got}, expected {refusal}"
            return None
        assert caller.address in holders, f"{function} by {caller.address}, who may not call it, would succeed"
        if function in KEY_ACTIONS:
            assert self.may_act(caller.address), f"{function} would succeed while paused, frozen or out of the window"
        receipt = self.registry.send(caller, function, *args)
        self.clock = self.registry.block_time(receipt)
        receipt["events"] = events = []  # all emitted by the registry
        for log in receipt["logs"]:
            assert log["address"] == self.registry.contract.address
            name = self.event_names[bytes(log["topics"][0])]
            events.append((name, dict(getattr(self.registry.contract.events, name)().process_log(log)["args"])))
        sender, standing = receipt["from"], self.standing(receipt["from"])  # the model is not updated yet
        self.deeds += [Deed(name, sender, standing, self.powers(name, got, sender)) for name, got in events]
        return receipt

    @staticmethod
    def assert_events(receipt: dict[str, Any], expected: Events) -> None:
        """The receipt holds exactly `expected`, in order."""
        assert receipt["events"] == expected

    def powers(self, event: str, args: dict[str, Any], sender: str) -> frozenset[Role]:
        """Which holders may make the registry emit `event`, by the plain rule (not by what was called)."""
        if event == "Paused":
            return frozenset({GUARDIAN})
        if event in (
            "IssuerKeyAdded",
            "IssuerKeyValidUntilChanged",
            "CredentialKeyAdded",
            "CredentialKeyValidUntilChanged",
        ):
            return frozenset({("admin", args["agencyId"])})
        if event in ("RoleGranted", "RoleRevoked"):
            if args["role"] == ADMIN_ROLE:  # the council role moves only when its successor accepts
                return frozenset({PENDING})
            if event == "RoleRevoked" and args["account"] == sender:  # one renounces a role it holds
                return frozenset({GUARDIAN if args["role"] == GUARDIAN_ROLE else STRAY})
            return frozenset({COUNCIL})
        if event == "Anchored":
            return frozenset({("key", self.keys[sender].agency)} if sender in self.keys else ())
        if event in ("Revoked", "Suspended", "Reinstated"):
            batch = self.batches.get(args["root"])
            own = {("key", batch.agency)} if batch else set()
            return frozenset(own | {COUNCIL}) if event == "Revoked" else frozenset(own)
        return frozenset({COUNCIL})  # admissions, admins, standings, emergencies, unpausing, council transfers

    # Governance rules.

    def register(self, caller: LocalAccount, agency: bytes, name: str, admin: str) -> None:
        refusal = self.not_holder(caller.address, ADMIN_ROLE)
        if refusal is None and agency == ZERO32:
            refusal = ("RegistryInvalidAgencyId", {})
        if refusal is None and not name:
            refusal = ("RegistryEmptyAgencyName", {"agencyId": agency})
        if refusal is None and agency in self.agencies:
            refusal = ("RegistryAgencyAlreadyRegistered", {"agencyId": agency})
        refusal = refusal or self.new_admin_refusal(admin)
        receipt = self.attempt(caller, "registerAgency", (agency, name, admin), refusal, [self.council])
        if receipt is not None:
            self.assert_events(receipt, [("AgencyRegistered", {"agencyId": agency, "name": name, "admin": admin})])
            self.agencies[agency] = Agency(name, admin)

    def add_key(self, caller: LocalAccount, agency: bytes, key: str, valid_from: int, valid_until: int) -> None:
        refusal = self.unknown_agency(agency) or self.admin_refusal(caller.address, agency)
        if refusal is None and key == ZERO_ADDRESS:
            refusal = ("RegistryInvalidKey", {})
        if refusal is None and key in self.keys:
            refusal = ("RegistryKeyAlreadyRegistered", {"key": key})
        if refusal is None and self.governs(key):
            refusal = ("RegistryGovernorCannotIssue", {"account": key})
        start, end = valid_from or self.clock, valid_until or NO_END
        window = {"validUntil": end} | ({"validFrom": start} if valid_from else {})
        if refusal is None and ((valid_from and self.has_passed(valid_from + 1)) or end <= start):
            refusal = ("RegistryInvalidValidityWindow", window)
        args = (agency, key, valid_from, valid_until)
        receipt = self.attempt(caller, "addIssuerKey", args, refusal, self.admin_of(agency))
        if receipt is not None:
            start = valid_from or self.clock  # the block's time
            added = {"agencyId": agency, "key": key, "validFrom": start, "validUntil": end}
            self.assert_events(receipt, [("IssuerKeyAdded", added)])
            self.keys[key] = Key(agency, start, end)

    @initialize()
    def open_with_two_agencies(self) -> None:
        """Start with two agencies, their admins, a key each and a retired one, and batches to work on.

        The first agency's batch is suspended and one of its documents revoked. The second agency
        anchors copies of two others later, suspends one copy (the first agency may take it back) and
        revokes the other (which the first agency then tries to take back); it also anchors a single
        document and revokes it.
        """
        council = self.accounts[self.council]
        moci_key, qu_key, retired = self.addresses[1:4]
        moci_admin, qu_admin = (self.accounts[a] for a in self.designated_admins[:2])
        for i, (admin, key) in enumerate(((moci_admin, moci_key), (qu_admin, qu_key))):
            self.register(council, AGENCY_IDS[i], AGENCY_NAMES[i], admin.address)
            self.add_key(admin, AGENCY_IDS[i], key, 0, 0)
        self.add_key(moci_admin, AGENCY_IDS[0], retired, 0, 0)
        self.set_key_end(moci_admin, retired, 0)
        shared, copied = self.new_leaf(), self.new_leaf()
        self.anchor_batch(self.accounts[moci_key], [self.new_leaf(), self.new_leaf(), shared, copied], 4, 0)
        self.let_time_pass()
        self.anchor_batch(self.accounts[qu_key], [shared, copied, self.new_leaf()], 3, 0)
        self.anchor_batch(self.accounts[qu_key], [self.new_leaf()], 1, 0)
        first, copy, single = self.batches
        moci, qu = self.accounts[moci_key], self.accounts[qu_key]
        self.change_status(moci, "suspend", first, first, [], 1)
        leaves, proofs = self.batches[first].leaves, self.batches[first].proofs
        self.change_status(moci, "revokeDocument", leaves[0], first, proofs[0], 2)
        self.change_status(qu, "suspendDocument", shared, copy, self.batches[copy].proofs[0], 3)
        self.change_status(qu, "revokeDocument", copied, copy, self.batches[copy].proofs[1], 5)
        self.change_status(qu, "revoke", single, single, [], 4)

    def free_addresses(self) -> list[str]:
        """Addresses that hold nothing: the ones a new admin, key or council is best drawn from."""
        return [a for a in self.nameable if not self.standing(a)]

    @rule(data=st.data(), agency=st.sampled_from(AGENCY_IDS), name=st.sampled_from(AGENCY_NAMES))
    def register_agency(self, data: st.DataObject, agency: bytes, name: str) -> None:
        """Admit an agency with its own admin (most often), or one that governs or issues already, or none."""
        self.read_clock()
        designated = self.designated_admins[AGENCY_IDS.index(agency) % len(self.designated_admins)]
        admins = [record.admin for record in self.agencies.values()]
        admin = data.draw(st.sampled_from([designated] * 4 + [*self.nameable, *admins, ZERO_ADDRESS]), label="admin")
        self.register(self.pick_caller(data, [self.council]), agency, name, admin)

    @rule(data=st.data(), agency=st.sampled_from(AGENCY_IDS))
    def name_agency_admin(self, data: st.DataObject, agency: bytes) -> None:
        """The council names another admin for an agency (a lost or rotated admin key)."""
        self.read_clock()
        free = self.free_addresses()
        admin = data.draw(st.sampled_from([*free, *free, *self.nameable, ZERO_ADDRESS]), label="admin")
        caller = self.pick_caller(data, [self.council])
        refusal = self.not_holder(caller.address, ADMIN_ROLE) or self.unknown_agency(agency)
        record = self.agencies.get(agency)
        if refusal is None and record is not None:
            removed: Refusal = ("RegistryAgencyRemoved", {"agencyId": agency})
            refusal = removed if record.status == REMOVED else self.new_admin_refusal(admin)
        receipt = self.attempt(caller, "setAgencyAdmin", (agency, admin), refusal, [self.council])
        if receipt is None or record is None:
            return
        self.assert_events(receipt, [("AgencyAdminChanged", {"agencyId": agency, "admin": admin})])
        self.former.append(record.admin)
        record.admin = admin

    @rule(
        data=st.data(),
        agency=st.sampled_from(AGENCY_IDS),
        status=st.sampled_from((FROZEN,) * 3 + (AGENCY_ACTIVE,) * 3 + (REMOVED, NONE)),
    )
    def set_agency_standing(self, data: st.DataObject, agency: bytes, status: int) -> None:
        """Freeze, unfreeze or remove an agency; then its keys and admin try everything, or (lifted) anchor again."""
        self.read_clock()
        caller = self.pick_caller(data, [self.council])
        refusal = self.not_holder(caller.address, ADMIN_ROLE) or self.unknown_agency(agency)
        record = self.agencies.get(agency)
        if refusal is None and record is not None and (record.status == REMOVED or status in (record.status, NONE)):
            invalid = {"agencyId": agency, "current": record.status, "requested": status}
            refusal = ("RegistryInvalidAgencyStatus", invalid)
        receipt = self.attempt(caller, "setAgencyStatus", (agency, status), refusal, [self.council])
        if receipt is None or record is None:
            return
        self.assert_events(receipt, [("AgencyStatusChanged", {"agencyId": agency, "status": status})])
        record.status = status
        if status != AGENCY_ACTIVE:
            self.try_every_change(agency)
        elif self.acting_keys(agency):
            assert self.anchor_batch(self.accounts[self.acting_keys(agency)[0]], [self.new_leaf()], 1, 0), "frozen"

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
        free = self.free_addresses()
        key = data.draw(st.sampled_from([*free, *free, *self.nameable, ZERO_ADDRESS]), label="key")
        caller = self.pick_caller(data, [self.agencies[agency].admin] if agency in self.agencies else [], agency)
        self.add_key(caller, agency, key, valid_from, valid_until)

    @rule(data=st.data(), end=st.sampled_from(("retire now", "later", "in the past")))
    def move_key_end(self, data: st.DataObject, end: str) -> None:
        """Retire a key (end 0: after the current second), move its end later, or try a past end."""
        self.read_clock()
        address = data.draw(st.sampled_from(list(self.keys) + self.nameable), label="key")
        agency = self.keys[address].agency if address in self.keys else None
        caller = self.pick_caller(data, [self.agencies[agency].admin] if agency else [], agency)
        until = {"retire now": 0, "later": self.clock + 3 * WINDOW_STEP, "in the past": 1}[end]
        self.set_key_end(caller, address, until)

    def set_key_end(self, caller: LocalAccount, address: str, until: int) -> None:
        key = self.keys.get(address)
        unknown: Refusal = ("RegistryUnknownKey", {"key": address})
        refusal: Refusal | None = unknown
        started = key is not None and self.has_passed(key.valid_from)
        shortening = False
        if key is not None:
            # 0 retires now, or a key not yet started with an empty window; a frozen agency's admin may shorten only
            end = until or (self.clock + 1 if started else key.valid_from)
            shortening = end <= key.valid_until if until else not self.has_passed(key.valid_until)
            refusal = self.admin_refusal(caller.address, key.agency, even_frozen=shortening)
        if refusal is None and key is not None:
            empty = (self.has_passed(until) or until < key.valid_from) if until else False
            window = {"validFrom": key.valid_from, "validUntil": until}
            refusal = ("RegistryInvalidValidityWindow", window) if empty else None
        holders = ([self.agencies[key.agency].admin] if shortening else self.admin_of(key.agency)) if key else []
        receipt = self.attempt(caller, "setIssuerKeyValidUntil", (address, until), refusal, holders)
        if receipt is None or key is None:
            return
        key.valid_until = until or (self.clock + 1 if started else key.valid_from)
        changed = {"agencyId": key.agency, "key": address, "validUntil": key.valid_until}
        self.assert_events(receipt, [("IssuerKeyValidUntilChanged", changed)])
        if not until and started:
            self.registry.mine_at(key.valid_until)  # from here on every call sees the key retired
            self.clock = key.valid_until

    @rule(
        data=st.data(),
        agency=st.sampled_from(AGENCY_IDS),
        window=st.sampled_from(("from now on", "from later until later", "from the past", "empty")),
        shape=st.sampled_from(("a point", "a point", "33 bytes starting 0x04", "32 bytes")),
    )
    def add_credential_key(self, data: st.DataObject, agency: bytes, window: str, shape: str) -> None:
        """Register a P-256 credential key: the same window rules as an issuer key; any admin's key, of any shape."""
        self.read_clock()
        later, much_later = self.clock + WINDOW_STEP, self.clock + 3 * WINDOW_STEP
        valid_from, valid_until = {
            "from now on": (0, 0),
            "from later until later": (later, much_later),
            "from the past": (1, 0),
            "empty": (later, later),
        }[window]
        point = data.draw(st.sampled_from(self.credential_points), label="credential key")
        key = {"a point": point, "33 bytes starting 0x04": b"\x04" + point[1:], "32 bytes": point[:32]}[shape]
        caller = self.pick_caller(data, [self.agencies[agency].admin] if agency in self.agencies else [], agency)
        refusal = self.unknown_agency(agency) or self.admin_refusal(caller.address, agency)
        if refusal is None and shape != "a point":
            refusal = ("RegistryInvalidCredentialKey", {"length": len(key)})
        if refusal is None and keccak(key) in self.credential_keys:
            refusal = ("RegistryCredentialKeyAlreadyRegistered", {"keyId": keccak(key)})
        start, end = valid_from or self.clock, valid_until or NO_END
        if refusal is None and ((valid_from and self.has_passed(valid_from + 1)) or end <= start):
            refusal = ("RegistryInvalidValidityWindow", {"validUntil": end})
        args = (agency, key, valid_from, valid_until)
        receipt = self.attempt(caller, "addCredentialKey", args, refusal, self.admin_of(agency))
        if receipt is not None:
            start = valid_from or self.clock
            added = {"agencyId": agency, "keyId": keccak(key), "publicKey": key, "validFrom": start, "validUntil": end}
            self.assert_events(receipt, [("CredentialKeyAdded", added)])
            self.credential_keys[keccak(key)] = Key(agency, start, end)

    @rule(data=st.data(), end=st.sampled_from(("retire now", "later", "in the past")))
    def move_credential_key_end(self, data: st.DataObject, end: str) -> None:
        """Retire, extend or try a past end for a credential key (or an unknown one), as for issuer keys."""
        self.read_clock()
        key_id = data.draw(st.sampled_from([keccak(point) for point in self.credential_points]), label="key id")
        key = self.credential_keys.get(key_id)
        caller = self.pick_caller(data, [self.agencies[key.agency].admin] if key else [], key.agency if key else None)
        until = {"retire now": 0, "later": self.clock + 3 * WINDOW_STEP, "in the past": 1}[end]
        refusal: Refusal | None = ("RegistryUnknownCredentialKey", {"keyId": key_id})
        shortening = False
        started = key is not None and self.has_passed(key.valid_from)
        if key is not None:
            new_end = until or (self.clock + 1 if started else key.valid_from)
            shortening = new_end <= key.valid_until if until else not self.has_passed(key.valid_until)
            refusal = self.admin_refusal(caller.address, key.agency, even_frozen=shortening)
            if refusal is None and until and (self.has_passed(until) or until < key.valid_from):
                refusal = ("RegistryInvalidValidityWindow", {"validFrom": key.valid_from, "validUntil": until})
        holders = ([self.agencies[key.agency].admin] if shortening else self.admin_of(key.agency)) if key else []
        receipt = self.attempt(caller, "setCredentialKeyValidUntil", (key_id, until), refusal, holders)
        if receipt is None or key is None:
            return
        key.valid_until = until or (self.clock + 1 if started else key.valid_from)
        changed = {"agencyId": key.agency, "keyId": key_id, "validUntil": key.valid_until}
        self.assert_events(receipt, [("CredentialKeyValidUntilChanged", changed)])

    @rule(data=st.data(), function=st.sampled_from(("pause", "unpause")))
    def pause_or_unpause(self, data: st.DataObject, function: str) -> None:
        """A guardian pauses, then every change is tried; or the council unpauses, then a key anchors again."""
        self.read_clock()
        pausing = function == "pause"
        role = GUARDIAN_ROLE if pausing else ADMIN_ROLE
        rightful = self.holders[GUARDIAN_ROLE] if pausing else [self.council]
        caller = self.pick_caller(data, rightful)
        refusal = self.not_holder(caller.address, role)
        if refusal is None and self.paused is pausing:
            refusal = ("EnforcedPause", {}) if pausing else ("ExpectedPause", {})
        receipt = self.attempt(caller, function, (), refusal, rightful)
        if receipt is None:
            return
        self.assert_events(receipt, [("Paused" if pausing else "Unpaused", {"account": caller.address})])
        self.paused = pausing
        if pausing:
            self.try_every_change()
        elif self.acting_keys():
            assert self.anchor_batch(self.accounts[self.acting_keys()[0]], [self.new_leaf()], 1, 0), "still stopped"

    def try_every_change(self, agency: bytes | None = None) -> None:
        """Every kind of change (of `agency` alone if given), by whoever could make it, and the council: all refused."""
        for address, key in self.keys.items():  # one out of its window is told so first
            if agency in (None, key.agency):
                self.anchor_batch(self.accounts[address], [self.new_leaf()], 1, 0)
        for root, batch in [(r, b) for r, b in self.batches.items() if agency in (None, b.agency)][:3]:
            keys = [a for a, key in self.keys.items() if key.agency == batch.agency and self.in_window(key)]
            for caller in [self.accounts[a] for a in [*keys, self.council]]:
                for function in ("revoke", "suspend", "reinstate"):
                    self.change_status(caller, function, root, root, [], 1)
                for function in ("revokeDocument", "suspendDocument", "reinstateDocument"):
                    self.change_status(caller, function, batch.leaves[0], root, batch.proofs[0], 1)
        if agency is not None:  # its admin moves no key
            admin = self.accounts[self.agencies[agency].admin]
            free = self.free_addresses()
            self.add_key(admin, agency, free[0] if free else ZERO_ADDRESS, 0, 0)
            for address in [a for a, key in self.keys.items() if key.agency == agency][:1]:
                self.set_key_end(admin, address, 0)

    @rule()
    def let_time_pass(self) -> None:
        """Jump TIME_STEP seconds: windows open and close, the council transfer delay elapses."""
        self.clock = self.registry.latest_time() + TIME_STEP
        self.registry.mine_at(self.clock)

    @rule(data=st.data(), step=st.sampled_from(("begin", "accept", "begin, then accept after the delay", "cancel")))
    def transfer_council_role(self, data: st.DataObject, step: str) -> None:
        """The two-step council transfer: begin (to anyone), accept (before or after the delay), or cancel."""
        self.read_clock()
        if step.startswith("begin"):
            self.begin_council_transfer(data)
        if step.endswith("delay"):
            self.let_time_pass()
            self.read_clock()
        if step.startswith("accept") or step.endswith("delay"):
            self.accept_council_transfer(data)
        if step == "cancel":
            self.cancel_council_transfer(data)

    def begin_council_transfer(self, data: st.DataObject) -> None:
        free = self.free_addresses()
        successor = data.draw(st.sampled_from([*free, *self.nameable, *self.keys]), label="successor")
        caller = self.pick_caller(data, [self.council])
        refusal = self.not_holder(caller.address, ADMIN_ROLE)
        receipt = self.attempt(caller, "beginDefaultAdminTransfer", (successor,), refusal, [self.council])
        if receipt is None:
            return
        canceled: Events = [("DefaultAdminTransferCanceled", {})] if self.pending[1] else []
        self.pending = (successor, self.clock + ADMIN_DELAY)
        scheduled = ("DefaultAdminTransferScheduled", {"newAdmin": successor, "acceptSchedule": self.pending[1]})
        self.assert_events(receipt, [*canceled, scheduled])

    def cancel_council_transfer(self, data: st.DataObject) -> None:
        caller = self.pick_caller(data, [self.council])
        refusal = self.not_holder(caller.address, ADMIN_ROLE)
        receipt = self.attempt(caller, "cancelDefaultAdminTransfer", (), refusal, [self.council])
        if receipt is not None:
            self.assert_events(receipt, [("DefaultAdminTransferCanceled", {})] if self.pending[1] else [])
            self.pending = (ZERO_ADDRESS, 0)

    def accept_council_transfer(self, data: st.DataObject) -> None:
        """The successor accepts after the delay, unless it is an issuer key (which was never refused a nomination)."""
        successor, schedule = self.pending
        due = schedule != 0 and self.has_passed(schedule + 1)
        holders = [successor] if due and successor not in self.keys else []
        caller = self.pick_caller(data, [successor])
        refusal: Refusal | None = None
        if caller.address != successor:
            refusal = ("AccessControlInvalidDefaultAdmin", {"defaultAdmin": caller.address})
        elif not due:
            refusal = ("AccessControlEnforcedDefaultAdminDelay", {"schedule": schedule})
        elif successor in self.keys:
            refusal = ("RegistryGovernorCannotIssue", {"account": successor})
        receipt = self.attempt(caller, "acceptDefaultAdminTransfer", (), refusal, holders)
        if receipt is None:
            return
        moved = [("RoleRevoked", {"account": self.council}), ("RoleGranted", {"account": successor})]
        self.assert_events(receipt, [(name, args | {"role": ADMIN_ROLE, "sender": successor}) for name, args in moved])
        self.former.append(self.council)
        self.council, self.pending = successor, (ZERO_ADDRESS, 0)

    @rule(
        data=st.data(),
        function=st.sampled_from(("grantRole", "grantRole", "revokeRole", "renounceRole")),
        role=st.sampled_from((ADMIN_ROLE, GUARDIAN_ROLE, GUARDIAN_ROLE, STRAY_ROLE)),
    )
    def change_a_role(self, data: st.DataObject, function: str, role: bytes) -> None:
        """The council names and removes guardians (no issuer key); its own role moves by the two-step transfer."""
        self.read_clock()
        free = self.free_addresses()
        account = data.draw(st.sampled_from([*free, *self.nameable]), label="account")
        rightful = [account] if function == "renounceRole" else [self.council]
        caller = self.pick_caller(data, rightful)
        refusal: Refusal | None = None
        if function == "renounceRole":
            if role == ADMIN_ROLE and account == self.council:  # only after a due transfer to no one, never made here
                refusal = ("AccessControlEnforcedDefaultAdminDelay", {"schedule": self.pending[1]})
            elif account != caller.address:
                refusal = ("AccessControlBadConfirmation", {})
        elif role == ADMIN_ROLE:
            refusal = ("AccessControlEnforcedDefaultAdminRules", {})
        else:
            refusal = self.not_holder(caller.address, ADMIN_ROLE)
            if refusal is None and function == "grantRole" and account in self.keys:
                refusal = ("RegistryGovernorCannotIssue", {"account": account})
        receipt = self.attempt(caller, function, (role, account), refusal, rightful)
        if receipt is None:
            return
        holds = role != ADMIN_ROLE and account in self.holders[role]
        expected: Events = []
        if function == "grantRole" and not holds:
            expected = [("RoleGranted", {"role": role, "account": account, "sender": caller.address})]
            self.holders[role].append(account)
        elif function != "grantRole" and holds:
            expected = [("RoleRevoked", {"role": role, "account": account, "sender": caller.address})]
            self.holders[role].remove(account)
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
        now, key = self.clock, caller.address
        anchored = {"root": root, "key": key, "documentCount": documents, "expiresAt": expires_at, "at": now}
        self.assert_events(receipt, [("Anchored", anchored)])
        agency = self.keys[key].agency
        self.batches[root] = Batch(agency, key, leaves, proofs, documents, expires_at, now, receipt["blockNumber"])
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

    def draw_root(self, data: st.DataObject) -> bytes:
        """A batch's root: any, one suspended or revoked before, or now and then one never anchored."""
        target = data.draw(st.sampled_from(TARGETS), label="target")
        changed = [root for root, batch in self.batches.items() if batch.status in (SUSPENDED, REVOKED)]
        roots = changed if target == "one changed before" and changed else list(self.batches)
        return self.new_leaf() if target == "never anchored" else data.draw(st.sampled_from(roots), label="root")

    def draw_document(self, data: st.DataObject, proof_kind: str) -> tuple[bytes, list[bytes], bytes]:
        """A document (any, or one suspended or revoked before), a proof of it (or a wrong one) and where it leads."""
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
        return chosen.leaves[index], proof, proof_root(chosen.leaves[index], proof)  # the contract trusts the proof

    def change_batch(self, data: st.DataObject, function: str, reason: int) -> None:
        """Revoke, suspend or reinstate a whole batch (now and then one never anchored)."""
        self.read_clock()
        root = self.draw_root(data)
        caller = self.pick_caller(data, self.changers_of(root), self.agency_of(root))
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
        leaf, proof, root = self.draw_document(data, proof_kind)
        caller = self.pick_caller(data, self.changers_of(root), self.agency_of(root))
        self.change_status(caller, function, leaf, root, proof, reason)

    @precondition(lambda self: bool(self.batches))
    @rule(
        data=st.data(),
        what=st.sampled_from(("a batch", "a document")),
        proof_kind=PROOF_KINDS,
        note=st.sampled_from(("issuer key stolen",) * 5 + ("",)),
        reason=st.integers(0, 255),
    )
    def revoke_in_an_emergency(self, data: st.DataObject, what: str, proof_kind: str, note: str, reason: int) -> None:
        """The council revokes a batch (empty proof) or a document, paused or not, its agency frozen or not."""
        self.read_clock()
        if what == "a batch":
            hash_ = root = self.draw_root(data)
            proof: list[bytes] = []
        else:
            hash_, proof, root = self.draw_document(data, proof_kind)
        self.emergency(self.pick_caller(data, [self.council], self.agency_of(root)), hash_, root, proof, reason, note)

    def emergency(
        self, caller: LocalAccount, hash_: bytes, root: bytes, proof: list[bytes], reason: int, note: str
    ) -> None:
        """`emergencyRevoke`: the batch `root` when `proof` is empty (`hash_` is `root`), else the document."""
        batch = self.batches.get(root)
        refusal = self.not_holder(caller.address, ADMIN_ROLE)
        if refusal is None and not note:
            refusal = ("RegistryEmptyNote", {"hash": hash_})
        if refusal is None and batch is None:
            refusal = ("RegistryNotAnchored", {"root": root})
        claimed_at = 0
        if refusal is None and batch is not None:
            if batch.status == REVOKED:
                refusal = ("RegistryAlreadyRevoked", {"hash": root})
            elif proof:
                refusal, status, claimed_at = self.claim(hash_, batch, revoking=True)
                if refusal is None and status == REVOKED:
                    refusal = ("RegistryAlreadyRevoked", {"hash": hash_})
        receipt = self.attempt(caller, "emergencyRevoke", (hash_, proof, reason, note), refusal, [self.council])
        if receipt is None or batch is None:
            return
        if proof:
            self.records[hash_] = Record(batch.agency, REVOKED, reason, claimed_at)
        else:
            batch.status, batch.reason = REVOKED, reason
        emergency = ("EmergencyRevoked", {"hash": hash_, "agencyId": batch.agency, "note": note})
        self.assert_events(receipt, [*self.status_events("revoke", hash_, root, caller.address, reason), emergency])
        self.try_to_undo(hash_, root, proof, bool(proof), reason, caller.address)

    def changers_of(self, root: bytes) -> list[str]:
        """Who may change the batch `root` or its documents: its agency's acting keys."""
        batch = self.batches.get(root)
        return self.acting_keys(batch.agency) if batch else []

    def agency_of(self, root: bytes) -> bytes | None:
        batch = self.batches.get(root)
        return batch.agency if batch else None

    def change_status(
        self, caller: LocalAccount, function: str, hash_: bytes, root: bytes, proof: list[bytes], reason: int
    ) -> None:
        """Revoke, suspend or reinstate the batch `root` (`hash_` is `root`) or its document `hash_`."""
        batch = self.batches.get(root)
        document = function.endswith("Document")
        if document:
            revoking = function.startswith("revoke")
            refusal, status, claimed_at = self.document_refusal(caller.address, hash_, root, revoking=revoking)
            args: tuple[Any, ...] = (hash_, proof)
        elif batch is None:
            refusal, status, claimed_at = ("RegistryNotAnchored", {"root": root}), NONE, 0
            args = (root,)
        else:
            refusal, status, claimed_at = self.change_refusal(caller.address, batch.agency), batch.status, 0
            args = (root,)
        refusal = refusal or self.status_refusal(function, status, hash_)
        if not function.startswith("reinstate"):
            args = (*args, reason)
        receipt = self.attempt(caller, function, args, refusal, self.changers_of(root))
        if receipt is None or batch is None:
            return
        status, reason = self.apply(function, reason)
        if document:
            self.records[hash_] = Record(batch.agency, status, reason, claimed_at)
        else:
            batch.status, batch.reason = status, reason
        self.assert_events(receipt, self.status_events(function, hash_, root, caller.address, reason))
        if function.startswith("revoke"):
            self.try_to_undo(hash_, root, proof, document, reason, caller.address)

    def try_to_undo(self, hash_: bytes, root: bytes, proof: list[bytes], document: bool, reason: int, by: str) -> None:
        """A revocation is final: the revoker and the agency's keys through its batch, the keys of every other batch
        holding the document (an earlier claim too) through theirs, and the council, try to undo or repeat it."""
        suffix = "Document" if document else ""
        routes = [(root, proof)] + [
            (other, batch.proofs[batch.leaves.index(hash_)])
            for other, batch in self.batches.items()
            if document and other != root and hash_ in batch.leaves
        ]
        for route_root, route_proof in routes:
            callers = [a for a in (by,) if a in self.keys] + self.acting_keys(self.batches[route_root].agency)
            for address in dict.fromkeys(callers):
                for undo in ("reinstate", "suspend", "revoke"):
                    self.change_status(self.accounts[address], undo + suffix, hash_, route_root, route_proof, reason)
        if proof or not document:  # an empty proof would revoke the batch, not this document
            self.emergency(self.accounts[self.council], hash_, root, proof, reason, "again")

    def claim(self, leaf: bytes, batch: Batch, *, revoking: bool) -> tuple[Refusal | None, int, int]:
        """The contract's `_documentClaim`: the refusal, else the status the batch's agency sees and its claim time.

        A record belongs to the agency whose batch holding the document, among those its changes went through,
        is the earliest; a later claim is refused, an earlier one starts afresh, except that a revoked record
        is taken over only to revoke it again (it stays revoked).
        """
        record = self.records.get(leaf)
        if record is None:
            return None, NONE, batch.anchored_at
        if record.agency == batch.agency:
            return None, record.status, min(record.claimed_at, batch.anchored_at)
        if batch.anchored_at >= record.claimed_at:
            return ("RegistryDocumentOwnedByOtherAgency", {"targetHash": leaf, "owner": record.agency}), NONE, 0
        if record.status == REVOKED and not revoking:
            return ("RegistryAlreadyRevoked", {"hash": leaf}), NONE, 0
        return None, NONE, batch.anchored_at

    def document_refusal(
        self, caller: str, leaf: bytes, root: bytes, *, revoking: bool
    ) -> tuple[Refusal | None, int, int]:
        """The contract's `_documentOf`: the proof's batch, a key of its agency, the batch not revoked, the claim."""
        batch = self.batches.get(root)
        if batch is None:
            return ("RegistryNotAnchored", {"root": root}), NONE, 0
        refusal = self.change_refusal(caller, batch.agency)
        if refusal is None and batch.status == REVOKED:
            refusal = ("RegistryAlreadyRevoked", {"hash": root})
        if refusal is not None:
            return refusal, NONE, 0
        return self.claim(leaf, batch, revoking=revoking)

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
    def only_holders_succeeded(self) -> None:
        """Every success so far used a power its sender held: no single key, council member or stranger governed
        (admitted, unpaused, moved keys, changed the council...) or revoked another agency's batch or document."""
        for deed in self.deeds:
            used = deed.standing & deed.powers
            assert used, f"{deed.event} by {deed.sender}, who held {set(deed.standing)}, not one of {set(deed.powers)}"
            if all(role != "key" for role, _ in used):
                assert all(role != "key" for role, _ in deed.standing), f"{deed.event} by {deed.sender}, a key"

    @invariant()
    def chain_matches_model(self) -> None:
        """Read back everything the registry holds and compare it with the model and with the past."""
        hashes = [*self.batches, *(leaf for leaf in self.leaves if leaf not in self.batches)]
        read = self.read_all(
            [("paused", ()), ("defaultAdmin", ()), ("pendingDefaultAdmin", ())]
            + [("hasRole", (role, a)) for a in self.addresses for role in ROLES]
            + [("issuerKey", (a,)) for a in self.addresses]
            + [("agency", (agency,)) for agency in AGENCY_IDS]
            + [("credentialKey", (keccak(point),)) for point in self.credential_points]
            + [(function, (h,)) for h in hashes for function in ("isIssued", "isRevoked")]
            + [("inspect", (h, h)) for h in hashes]
        )
        assert read["paused", ()] is self.paused
        assert read["defaultAdmin", ()] == self.council
        assert tuple(read["pendingDefaultAdmin", ()]) == self.pending
        for address in self.addresses:
            assert read["hasRole", (ADMIN_ROLE, address)] is (address == self.council)
            for role in (GUARDIAN_ROLE, STRAY_ROLE):
                assert read["hasRole", (role, address)] is (address in self.holders[role])
            key = self.keys.get(address)
            expected_key = (key.agency, key.valid_from, key.valid_until) if key else (ZERO32, 0, 0)
            assert tuple(read["issuerKey", (address,)]) == expected_key
        for point in self.credential_points:
            credential_key = self.credential_keys.get(keccak(point))
            expected_key = (
                (credential_key.agency, credential_key.valid_from, credential_key.valid_until)
                if credential_key
                else (ZERO32, 0, 0)
            )
            assert tuple(read["credentialKey", (keccak(point),)]) == expected_key
        for agency in AGENCY_IDS:
            record = self.agencies.get(agency)
            count = sum(key.agency == agency for key in self.keys.values())
            expected = (record.status, record.name, record.admin, count) if record else (NONE, "", ZERO_ADDRESS, 0)
            assert tuple(read["agency", (agency,)]) == expected
        # Governing and issuing never meet, as the chain tells it (a pending council may be a key: it cannot accept).
        admins = {read["agency", (agency,)][2] for agency in AGENCY_IDS}
        for address in self.addresses:
            if read["issuerKey", (address,)][0] != ZERO32:
                governs = [read["hasRole", (role, address)] for role in (ADMIN_ROLE, GUARDIAN_ROLE)]
                assert not any(governs), f"{address} governs and issues"
                assert address not in admins, f"{address} administers and issues"
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
        # What the chain showed before, whatever the model says: a revocation, of a batch or of a
        # document's record, is final for everyone, so isRevoked stays true and the record as it was.
        if hash_ in self.seen_issued:
            assert issued, f"{hash_.hex()} was issued and no longer is"
        if hash_ in self.seen_revoked_batches:
            assert (view["batchStatus"], revoked) == (REVOKED, True), f"batch {hash_.hex()} was revoked and came back"
            assert view["batchReason"] == self.seen_revoked_batches[hash_]
        if hash_ in self.seen_revoked_documents:
            assert (view["documentReason"], view["documentAgencyId"]) == self.seen_revoked_documents[hash_]
            assert (view["documentStatus"], revoked) == (REVOKED, True), f"{hash_.hex()} was revoked and came back"
        if issued:
            self.seen_issued.add(hash_)
        if view["batchStatus"] == REVOKED:
            self.seen_revoked_batches[hash_] = view["batchReason"]
        if view["documentStatus"] == REVOKED:
            self.seen_revoked_documents[hash_] = (view["documentReason"], view["documentAgencyId"])


def test_registry_keeps_its_rules_under_random_calls(
    web3: Web3, chain_node: ChainNode, artifact: ContractArtifact, accounts: list[LocalAccount]
) -> None:
    """Random sequences of calls, each example on a fresh registry inside a snapshot of the shared chain."""

    class Machine(RegistryMachine):
        def __init__(self) -> None:
            super().__init__(web3, chain_node.url, artifact, [*accounts, *EXTRA_ACCOUNTS])

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
