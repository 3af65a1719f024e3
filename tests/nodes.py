"""The chain nodes the tests run on: Anvil by default, or Hardhat's node, a second JSON-RPC implementation.

`SIJILL_TEST_NODE=hardhat` runs the session's chains on Hardhat's node (EDR) instead of Anvil.
`make test` runs the chain tests that use no ``anvil_*`` method a second time that way
(deselecting those marked ``anvil_only``): a different RPC layer, mempool, miner, error format
and header, as a permissioned network's nodes will differ from the development chain.
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger.chain.anvil import AnvilProcess, LocalNode, free_port

ROOT = Path(__file__).resolve().parents[1]
HARDHAT_CLI = ROOT / "node_modules" / "hardhat" / "internal" / "cli" / "bootstrap.js"
NODE_KINDS = ("anvil", "hardhat")


ChainNode = LocalNode  # a node the tests started, of either kind: its `url`, `stop`...


def node_kind() -> str:
    """Which implementation the session's chains run on (`SIJILL_TEST_NODE`, Anvil by default)."""
    kind = os.environ.get("SIJILL_TEST_NODE", "anvil")
    if kind not in NODE_KINDS:
        raise ValueError(f"SIJILL_TEST_NODE is {kind!r}; it must be one of {', '.join(NODE_KINDS)}")
    return kind


class HardhatNode(LocalNode):
    """Hardhat's development node on 127.0.0.1 (chain id 31337, automine, Anvil's accounts).

    Started from the repository's npm packages with plain ``node`` (one process, so SIGTERM
    reaches it; ``npx`` would add a wrapper) and waited on until it answers ``eth_chainId``.
    """

    name = "hardhat node"
    cwd = ROOT  # it reads the repository's hardhat.config.js

    def command(self) -> list[str]:
        """The command line that starts this node."""
        return ["node", str(HARDHAT_CLI), "node", "--hostname", "127.0.0.1", "--port", str(self.port)]


def start_node(log_folder: Path) -> ChainNode:
    """A fresh node of the session's kind on a free port, logging into `log_folder`."""
    if node_kind() == "hardhat":
        return HardhatNode(port=free_port(), log_file=log_folder / "hardhat.log").start(timeout=60)
    return AnvilProcess(port=free_port(), log_file=log_folder / "anvil.log").start()
