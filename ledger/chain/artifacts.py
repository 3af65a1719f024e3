"""The contracts' ABIs and bytecode, read from the one Hardhat build.

Hardhat compiles the contracts into `artifacts/`; `make build` copies the registry's and
the council timelock's artifacts, unchanged, into this package (`ledger/chain/compiled/`),
with the Safe multisig's (built by its npm package), so that an installed wheel carries
them. `SIJILL_ARTIFACTS_DIR` reads Hardhat's folder itself instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from ledger.errors import ConfigurationError

REGISTRY_ARTIFACT = Path("contracts/DocumentRegistry.sol/DocumentRegistry.json")
"""The registry's artifact inside Hardhat's `artifacts/` folder."""

ARTIFACTS = {
    "DocumentRegistry": REGISTRY_ARTIFACT,
    "CouncilTimelock": Path("contracts/CouncilTimelock.sol/CouncilTimelock.json"),
    "SafeL2": Path("safe/SafeL2.json"),
    "SafeProxyFactory": Path("safe/SafeProxyFactory.json"),
}
"""Each contract's artifact inside Hardhat's `artifacts/` folder (the Safe's copied there by `make build`)."""

PACKAGED_FOLDER = "compiled"
"""The folder of `ledger.chain` that holds the copy of the registry's artifact."""


def packaged_artifact(name: str = "DocumentRegistry") -> Traversable:
    """The copy of contract `name`'s artifact packaged with `ledger` (made by `make build`)."""
    return files("ledger.chain").joinpath(PACKAGED_FOLDER, ARTIFACTS[name].name)


@dataclass(frozen=True, slots=True)
class ContractArtifact:
    """A compiled contract: its ABI, creation bytecode, runtime bytecode and ABI version."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str = "0x"

    @property
    def code_hash(self) -> bytes:
        """The keccak-256 of the runtime code: the code hash of an account that runs this contract
        (it has no immutables, so every deployment runs the same bytes)."""
        return keccak(bytes.fromhex(self.deployed_bytecode.removeprefix("0x")))

    @property
    def abi_version(self) -> str:
        """A short digest of the ABI: deployments record it to detect ABI drift."""
        canonical = json.dumps(self.abi, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def load(cls, artifacts_dir: Path | None = None, name: str = "DocumentRegistry") -> ContractArtifact:
        """Contract `name`'s artifact: from Hardhat's `artifacts_dir` when given, else the packaged copy.

        Raises `ConfigurationError`, naming `SIJILL_ARTIFACTS_DIR`, when it is missing or unreadable.
        """
        if artifacts_dir is None:
            source: Traversable = packaged_artifact(name)
            where = "the copy packaged with Sijill; or set SIJILL_ARTIFACTS_DIR to Hardhat's artifacts/ folder"
        else:
            source = artifacts_dir / ARTIFACTS[name]
            where = (
                f"SIJILL_ARTIFACTS_DIR is {artifacts_dir}: Hardhat's artifacts/ folder, or unset for the packaged copy"
            )
        try:
            artifact = json.loads(source.read_text(encoding="utf-8"))
            return cls(
                name=artifact["contractName"],
                abi=artifact["abi"],
                bytecode=artifact["bytecode"],
                deployed_bytecode=artifact.get("deployedBytecode", "0x"),
            )
        except OSError as error:
            raise ConfigurationError(
                f"no compiled {name} at {source} ({error.strerror}); run `make build` ({where})"
            ) from None
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigurationError(
                f"{source} is not a Hardhat artifact ({error!r}); run `make build` ({where})"
            ) from None
