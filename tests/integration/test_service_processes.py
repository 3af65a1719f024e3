"""Several service processes on one port (`SIJILL_API_WORKERS=2`), as `sijill up --no-chain` runs them.

Which process answered is told by the operating system, not by the service: the kernel's socket
table (`/proc/net/tcp`) names the inode of the server's end of a connection, and only the
process that accepted it holds that inode among its file descriptors (`/proc/<pid>/fd`).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from ledger.chain.anvil import free_port
from ledger.chain.artifacts import ContractArtifact
from ledger.chain.deployment import deploy_registry
from ledger.settings import DEV_ADMIN_TOKEN, Settings
from ledger.usecases.actors import Scope
from ledger.usecases.api_keys import create_api_key
from ledger.usecases.context import Ledger
from tests.conftest import DEV_KEYS
from tests.integration.conftest import make_settings
from tests.integration.test_pipeline_faults import start_service
from tests.nodes import ChainNode

WORKERS = 2
LISTEN, ESTABLISHED = "0A", "01"
LOOPBACK = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it (little-endian hex)


# --- what the operating system says ------------------------------------------------------------


def _tcp_table() -> list[tuple[str, str, str, str]]:
    """(local address, remote address, state, inode) of every IPv4 TCP socket, as /proc/net/tcp has them."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        rows.append((parts[1], parts[2], parts[3], parts[9]))
    return rows


def _socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process `pid` holds open."""
    inodes: set[str] = set()
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process has ended
        return inodes
    for fd in descriptors:
        try:
            target = fd.readlink().name
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _running(pid: int, started: str) -> bool:
    """Whether `pid` is still the process that started at `started` and has not exited (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state, *rest = stat.rsplit(")", 1)[1].split()
    return state != "Z" and rest[18] == started


def _start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def _port_hex(port: int) -> str:
    return f"{LOOPBACK}:{port:04X}"


@dataclass
class Service:
    """A running `sijill up` with its service processes."""

    parent: subprocess.Popen[bytes]
    port: int
    processes: dict[int, str] = field(default_factory=dict)  # pid -> start time, to tell a reused pid
    children: dict[int, str] = field(default_factory=dict)  # every process it started (a resource tracker too)

    def listeners(self) -> dict[int, set[str]]:
        """For each child process, the inodes of the sockets it listens with on the service's port."""
        listening = {
            inode for local, _, state, inode in _tcp_table() if local == _port_hex(self.port) and state == LISTEN
        }
        found = {}
        for pid in _children(self.parent.pid):
            mine = _socket_inodes(pid) & listening
            if mine:
                found[pid] = mine
        return found

    def serving_process(self, connection: http.client.HTTPConnection) -> int:
        """The pid of the service process holding the server's end of `connection`."""
        assert connection.sock is not None
        client = _port_hex(connection.sock.getsockname()[1])
        (inode,) = {
            inode
            for local, remote, state, inode in _tcp_table()
            if local == _port_hex(self.port) and remote == client and state == ESTABLISHED
        }
        owners = [pid for pid in self.processes if inode in _socket_inodes(pid)]
        assert len(owners) == 1, f"the connection's socket {inode} is held by {owners}, not one service process"
        return owners[0]


@contextmanager
def running_service(settings: Settings, folder: Path, **extra: str) -> Iterator[Service]:
    """`sijill up --no-chain` with two service processes, each listening on the port; stopped after.
    `extra`: more SIJILL_* settings for it (names without the prefix)."""
    api_port = free_port()
    with pytest.MonkeyPatch.context() as environment:  # what the started service reads
        environment.setenv("SIJILL_API_WORKERS", str(WORKERS))
        environment.setenv("SIJILL_PIPELINE_WORKER", "false")  # nothing to batch here
        for name, value in extra.items():
            environment.setenv(f"SIJILL_{name.upper()}", value)
        running = Service(start_service(settings, api_port, folder / "service.log"), api_port)
    try:
        deadline = time.monotonic() + 30
        while len(listeners := running.listeners()) < WORKERS:
            assert running.parent.poll() is None, f"the service stopped: see {folder / 'service.log'}"
            if time.monotonic() > deadline:
                pytest.fail(f"{len(listeners)} of {WORKERS} service processes listen after 30 s: {listeners}")
            time.sleep(0.1)
        running.processes = {pid: _start_time(pid) for pid in listeners}
        running.children = {pid: _start_time(pid) for pid in _children(running.parent.pid)}
        yield running
    finally:
        if running.parent.poll() is None:
            running.parent.send_signal(signal.SIGTERM)
            try:
                running.parent.wait(30)
            except subprocess.TimeoutExpired:
                running.parent.kill()
                running.parent.wait()
        for pid, started in running.children.items():  # a process that outlived its parent (a failed test)
            if _running(pid, started):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def shared_settings(
    tmp_path_factory: pytest.TempPathFactory, chain_node: ChainNode, web3: Web3, artifact: ContractArtifact
) -> Settings:
    """An installation for the tests that leave the service running, on a registry of its own."""
    folder = tmp_path_factory.mktemp("service")
    admin = Account.from_key(DEV_KEYS[0])
    deployment = deploy_registry(web3, artifact, admin, rpc_url=chain_node.url, admin_transfer_delay=3600)
    return make_settings(folder, chain_node, deployment, f"sqlite:///{folder / 'sijill.db'}")


@pytest.fixture(scope="module")
def service(shared_settings: Settings) -> Iterator[Service]:
    """One service for the tests that leave it running (starting one takes seconds)."""
    with running_service(shared_settings, shared_settings.data_dir) as running:
        yield running


@pytest.fixture
def own_service(settings: Settings, tmp_path: Path) -> Iterator[Service]:
    """A service of the test's own, for a test that kills it."""
    with running_service(settings, tmp_path) as running:
        yield running


def _connections_to_each(service: Service, *, most: int = 64) -> dict[int, http.client.HTTPConnection]:
    """One kept-alive connection served by each service process, opening new ones until each has one."""
    found: dict[int, http.client.HTTPConnection] = {}
    for _ in range(most):
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
        assert _get(connection, "/v1/network")[0] == 200
        pid = service.serving_process(connection)
        if pid in found:
            connection.close()
        else:
            found[pid] = connection
        if len(found) == len(service.processes):
            return found
    raise AssertionError(f"{most} new connections were all served by {sorted(found)} of {sorted(service.processes)}")


def _get(connection: http.client.HTTPConnection, path: str, token: str | None = None) -> tuple[int, str]:
    return _call(connection, "GET", path, token)


def _call(connection: http.client.HTTPConnection, method: str, path: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    return response.status, response.read().decode()


# --- the claims ---------------------------------------------------------------------------------


def test_each_service_process_listens_with_its_own_socket_and_serves_connections(service: Service) -> None:
    """Two processes, each with a listening socket of its own on the one port (SO_REUSEPORT), and
    new connections reach both: for each process, a connection whose server end it holds answers."""
    listeners = service.listeners()
    assert len(listeners) == WORKERS, listeners
    sockets = [inode for inodes in listeners.values() for inode in inodes]
    assert len(set(sockets)) == WORKERS, f"the processes share a listening socket: {listeners}"
    connections = _connections_to_each(service)
    assert sorted(connections) == sorted(service.processes)
    for connection in connections.values():
        assert _get(connection, "/v1/network")[0] == 200
        connection.close()


def test_an_api_key_revoked_in_one_process_is_refused_by_the_other_at_once(
    service: Service, shared_settings: Settings
) -> None:
    """An auditor's key works in both processes (each now remembers its token); the admin revokes
    it through process A; the very next request with it, to process B, is 401 naming the revocation."""
    ledger = Ledger(shared_settings)
    try:
        issued = create_api_key(ledger, agency_id=None, scopes={Scope.AUDIT}, label="state audit bureau")
    finally:
        ledger.close()
    connections = _connections_to_each(service)
    first, second = connections.values()
    for connection in (first, second):
        status, body = _get(connection, "/v1/access-log", issued.token)
        assert status == 200, body

    status, body = _call(first, "POST", f"/v1/admin/api-keys/{issued.key.id}/revoke", DEV_ADMIN_TOKEN)
    assert status == 200, body
    assert json.loads(body)["revoked_at"]

    status, body = _get(second, "/v1/access-log", issued.token)
    assert status == 401, f"the other process answered {status} for a key revoked a moment ago: {body}"
    assert "revoked" in json.loads(body)["error"]["message"], body
    assert _get(first, "/v1/access-log", issued.token)[0] == 401
    for connection in connections.values():
        connection.close()


LIMIT = 10  # public requests a minute, per client address


def test_a_clients_rate_limit_and_the_metrics_are_shared_by_the_service_processes(
    settings: Settings, tmp_path: Path
) -> None:
    """One address, alternating between the two processes, gets its `LIMIT` once (not once per process);
    both processes refuse it once that is spent; and either process's /metrics counts every refusal
    of both (prometheus-client's multiprocess mode adds them up)."""
    ledger = Ledger(settings)
    try:
        monitor = create_api_key(ledger, agency_id=None, scopes={Scope.MONITOR}, label="prometheus").token
    finally:
        ledger.close()
    with running_service(settings, tmp_path, public_requests_per_minute=str(LIMIT)) as service:
        connections = _connections_to_each(service)
        statuses: dict[int, list[int]] = {pid: [] for pid in connections}
        started = time.monotonic()
        for n in range(3 * LIMIT):
            pid = list(connections)[n % 2]
            statuses[pid].append(_get(connections[pid], f"/v1/documents/{'ab' * 32}")[0])
        answered = [status for codes in statuses.values() for status in codes if status != 429]
        refused = sum(codes.count(429) for codes in statuses.values())
        # A token comes back every 60 / LIMIT s: those that came back while the requests ran may be spent too.
        refilled = int((time.monotonic() - started) * LIMIT / 60) + 1
        assert LIMIT <= len(answered) <= LIMIT + refilled < 2 * LIMIT, (statuses, refilled)
        assert set(answered) == {404}, statuses
        assert all(429 in codes for codes in statuses.values()), f"a process never refused: {statuses}"
        for connection in connections.values():
            status, body = _get(connection, "/metrics", monitor)
            assert status == 200, body
            counted = [
                float(line.rsplit(" ", 1)[1])
                for line in body.splitlines()
                if line.startswith('sijill_rate_limited_total{limit="address"}')
            ]
            assert counted == [refused], f"the metrics count {counted} refusals, the clients saw {refused}"
            connection.close()


def test_the_service_processes_end_when_their_parent_is_sigkilled(own_service: Service) -> None:
    """SIGKILL to `sijill up` (no chance to stop its children): every process it started (the two
    service processes, multiprocessing's resource tracker) ends within a deadline (the parent watch
    polls twice a second), and nothing answers on the port any more."""
    own_service.parent.send_signal(signal.SIGKILL)
    own_service.parent.wait(10)
    deadline = time.monotonic() + 10
    assert set(own_service.processes) < set(own_service.children), own_service.children
    while left := [pid for pid, started in own_service.children.items() if _running(pid, started)]:
        if time.monotonic() > deadline:
            pytest.fail(f"processes {left} still run 10 s after their parent was killed")
        time.sleep(0.1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", own_service.port), timeout=5).close()
