"""The registry's ABI and bytecode, read from the one Hardhat build."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import ConfigurationError

DEFAULT_ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
REGISTRY_ARTIFACT = Path("contracts/DocumentRegistry.sol/DocumentRegistry.json")


@dataclass(frozen=True, slots=True)
class ContractArtifact:
    """A compiled contract: its ABI, creation bytecode and ABI version."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str

    @property
    def abi_version(self) -> str:
        """A short digest of the ABI: deployments record it to detect ABI drift."""
        canonical = json.dumps(self.abi, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def load(cls, artifacts_dir: Path = DEFAULT_ARTIFACTS, relative: Path = REGISTRY_ARTIFACT) -> ContractArtifact:
        """Read a Hardhat artifact. Raises `ConfigurationError` when it was not built."""
        path = artifacts_dir / relative
        try:
            artifact = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"no compiled contract at {path}; run `make build` first") from None
        return cls(name=artifact["contractName"], abi=artifact["abi"], bytecode=artifact["bytecode"])
