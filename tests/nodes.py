"""The chain nodes the tests run on: Anvil by default, or Hardhat's node, a second JSON-RPC implementation.

`SIJILL_TEST_NODE=hardhat` runs the session's chains on Hardhat's node (EDR) instead of Anvil.
`make test` runs the chain tests that use no ``anvil_*`` method a second time that way
(deselecting those marked ``anvil_only``): a different RPC layer, mempool, miner, error format
and header, as a permissioned network's nodes will differ from the development chain.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from ledger.chain.anvil import AnvilProcess, free_port, rpc_ready

ROOT = Path(__file__).resolve().parents[1]
HARDHAT_CLI = ROOT / "node_modules" / "hardhat" / "internal" / "cli" / "bootstrap.js"
NODE_KINDS = ("anvil", "hardhat")


class ChainNode(Protocol):
    """A local development node the tests started: its JSON-RPC URL, and a way to stop it."""

    url: str

    def stop(self) -> None: ...


def node_kind() -> str:
    """Which implementation the session's chains run on (`SIJILL_TEST_NODE`, Anvil by default)."""
    kind = os.environ.get("SIJILL_TEST_NODE", "anvil")
    if kind not in NODE_KINDS:
        raise ValueError(f"SIJILL_TEST_NODE is {kind!r}; it must be one of {', '.join(NODE_KINDS)}")
    return kind


class HardhatNode:
    """Hardhat's development node on 127.0.0.1 (chain id 31337, automine, Anvil's accounts).

    Started from the repository's npm packages with plain ``node`` (one process, so SIGTERM
    reaches it; ``npx`` would add a wrapper) and waited on until it answers ``eth_chainId``.
    """

    def __init__(self, *, port: int, log_file: Path | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, *, timeout: float = 60.0) -> HardhatNode:
        """Start the node and wait until it answers; raises `RuntimeError` if it does not."""
        if rpc_ready(self.url):
            raise RuntimeError(f"something already answers at {self.url}")
        command = ["node", str(HARDHAT_CLI), "node", "--hostname", "127.0.0.1", "--port", str(self.port)]
        self._log = open(self._log_file, "ab") if self._log_file else None  # noqa: SIM115 (closed by stop)
        output = self._log if self._log is not None else subprocess.DEVNULL
        self._process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"hardhat node exited at start with code {self._process.returncode}")
            if rpc_ready(self.url, timeout=0.5):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"hardhat node did not answer at {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the node, killing it if it does not stop within ten seconds."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> HardhatNode:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def start_node(log_folder: Path) -> ChainNode:
    """A fresh node of the session's kind on a free port, logging into `log_folder`."""
    if node_kind() == "hardhat":
        return HardhatNode(port=free_port(), log_file=log_folder / "hardhat.log").start()
    return AnvilProcess(port=free_port(), log_file=log_folder / "anvil.log").start()
