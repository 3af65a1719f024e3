"""Typed settings, read from ``SIJILL_*`` environment variables by entry points
and passed down. Development defaults exist so that `make run` works at once;
production mode refuses every one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ledger.errors import ConfigurationError

# Anvil's first well-known development account: public knowledge, never for real use.
DEV_ADMIN_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADMIN_TOKEN = "dev-admin-token"  # noqa: S105 (public development default, refused in production)
DEV_AGENCY_TOKEN = "dev-agency-token"  # noqa: S105 (public development default, refused in production)
DEV_BANK_TOKEN = "dev-relying-party-token"  # noqa: S105 (the demo relying party's: public, development only)
DEV_KEY_ENCRYPTION_KEY = "ZGV2LWtleS1lbmNyeXB0aW9uLWtleS1ub3Qtc2VjcmV0IQ=="
# Anvil's development accounts 6, 7 and 8: the development council, 2 of 3 (public knowledge too).
DEV_COUNCIL_KEYS = (
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
)
DEV_SECRETS = {
    DEV_ADMIN_PRIVATE_KEY,
    DEV_ADMIN_TOKEN,
    DEV_AGENCY_TOKEN,
    DEV_BANK_TOKEN,
    DEV_KEY_ENCRYPTION_KEY,
    *DEV_COUNCIL_KEYS,
}


class Settings(BaseSettings):
    """Everything an installation is configured with."""

    model_config = SettingsConfigDict(env_prefix="SIJILL_", env_file=None, extra="ignore")

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    rpc_url: str = "http://127.0.0.1:8545"
    rpc_urls: Annotated[list[str], NoDecode] = Field(
        default=[], description="several endpoints of the chain, comma-separated; wins over SIJILL_RPC_URL"
    )
    verify_quorum: int = Field(default=1, ge=1, description="endpoints that must agree on a verdict's block")
    verify_proofs: bool = Field(default=False, description="check the registry's answer with eth_getProof")
    expected_chain_id: int | None = Field(default=None, description="refuse a node serving another chain")
    deployment_file: Path | None = None
    database_url: str | None = None
    artifacts_dir: Path | None = Field(
        default=None,
        description="Hardhat's artifacts/ folder to read the registry from; unset: the copy packaged with Sijill",
    )
    node_modules_dir: Path = Field(
        default=Path("node_modules"), description="npm's folder holding Anvil for `sijill up` (the repository's)"
    )
    web_dir: Path = Field(
        default=Path("web"), description="the verification page's folder (verify.html, static/; the repository's)"
    )

    admin_private_key: SecretStr = SecretStr(DEV_ADMIN_PRIVATE_KEY)
    admin_token: SecretStr = SecretStr(DEV_ADMIN_TOKEN)
    key_encryption_key: SecretStr = SecretStr(DEV_KEY_ENCRYPTION_KEY)
    key_encryption_key_file: Path | None = Field(
        default=None,
        description="a file holding the key-encryption key (owner-only permissions); wins over the variable",
    )
    admin_transfer_delay_seconds: int = 3 * 24 * 3600

    # The council: a Safe of `council_members` (M = `council_threshold` approve) proposing to a
    # timelock of `council_delay_seconds`. The service signs for the members whose keys it is
    # given, never M of them in production. Unset members: the addresses of the keys given.
    council_members: list[str] = Field(default=[], description="the council's member addresses (production)")
    council_member_keys: list[SecretStr] = Field(
        default=[SecretStr(key) for key in DEV_COUNCIL_KEYS], description="members' keys this service signs with"
    )
    council_threshold: int = Field(default=2, ge=1)
    council_delay_seconds: int = Field(default=2, ge=0, description="how long an approved action waits on chain")
    council_proposal_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0, description="time to gather approvals")

    fund_new_keys_wei: int = Field(default=10**18, ge=0, description="gas money sent to each new key (0: none)")
    clock_margin_seconds: int = Field(
        default=0, ge=0, description="a key signs only if valid this long past the chain's clock (Besu: a block period)"
    )
    free_gas: bool = Field(
        default=False, description="the network takes transactions for nothing (Besu --min-gas-price=0): pay no fees"
    )
    rpc_timeout_seconds: float = 10.0
    receipt_timeout_seconds: float = 30.0
    max_batch_size: int = 1000

    # The issuance pipeline: a queued batch closes at `batch_documents` documents or after
    # `batch_wait_ms`; an anchor is ANCHORED at `confirmations` blocks (1: the block holding it).
    batch_documents: int = Field(default=1000, ge=1)
    batch_wait_ms: int = Field(default=200, ge=0)
    queue_limit: int = Field(default=100_000, ge=1, description="queued documents per agency before 503")
    confirmations: int = Field(default=1, ge=1)
    replace_after_seconds: float = Field(default=60.0, gt=0, description="re-sign an unmined anchor with higher fees")
    lease_seconds: float = Field(default=15.0, gt=0, description="how long a worker's claim on an agency lasts")
    worker_interval_seconds: float = Field(default=0.05, gt=0)
    pipeline_worker: bool = Field(default=True, description="run the batching and sending worker in the service")

    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Where people reach the service: QR links point here"
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = Field(default=1, ge=1, description="service processes on the one port (they share the store)")
    anvil_port: int = 8545
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", description="proxies whose X-Forwarded-For names the client (for per-address limits)"
    )
    cors_origins: list[str] = Field(default=[], description="web origins allowed to call the API; none by default")

    # Rate limits, per service process: per API key on every authenticated route, and per
    # client address on the public routes (verification, shared documents). 0: no limit.
    api_key_requests_per_minute: int = Field(default=3000, ge=0)
    public_requests_per_minute: int = Field(default=600, ge=0)

    presentation_result_hours: float = Field(
        default=24, gt=0, description="how long a verified presentation's result waits for its relying party"
    )

    seed_demo: bool = True
    demo_agency_id: str = "demo-ministry"
    demo_agency_name: str = "Demo Ministry of Commerce"
    demo_agency_token: SecretStr = SecretStr(DEV_AGENCY_TOKEN)
    demo_relying_party_id: str = "demo-bank"
    demo_relying_party_token: SecretStr = SecretStr(DEV_BANK_TOKEN)

    @field_validator("rpc_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [url.strip() for url in value.replace(" ", ",").split(",") if url.strip()]
        return value

    @property
    def endpoints(self) -> list[str]:
        """The chain's JSON-RPC endpoints: `rpc_urls`, else the one `rpc_url`."""
        return list(self.rpc_urls) or [self.rpc_url]

    @model_validator(mode="after")
    def _quorum_within_endpoints(self) -> Settings:
        if self.verify_quorum > len(self.endpoints):
            raise ConfigurationError(
                f"SIJILL_VERIFY_QUORUM={self.verify_quorum} needs at least that many endpoints; "
                f"SIJILL_RPC_URLS names {len(self.endpoints)}"
            )
        return self

    @model_validator(mode="after")
    def _refuse_development_defaults(self) -> Settings:
        if self.mode != "production":
            return self
        used = [
            name
            for name in (
                "admin_private_key",
                "admin_token",
                "key_encryption_key",
                "demo_agency_token",
            )
            if getattr(self, name).get_secret_value() in DEV_SECRETS
            and not (name == "key_encryption_key" and self.key_encryption_key_file is not None)
        ]
        used += ["council_member_keys"] * any(k.get_secret_value() in DEV_SECRETS for k in self.council_member_keys)
        if used:
            raise ConfigurationError(
                "production mode refuses the development defaults of: "
                + ", ".join(f"SIJILL_{name.upper()}" for name in used)
            )
        if self.seed_demo:
            raise ConfigurationError("production mode does not seed a demo agency; set SIJILL_SEED_DEMO=false")
        if len(self.council_member_keys) >= self.council_threshold:
            raise ConfigurationError(
                f"production mode refuses {len(self.council_member_keys)} council members' keys for a threshold of "
                f"{self.council_threshold}: the service must never hold enough keys to decide alone"
            )
        if len(self.council_members) < self.council_threshold:
            raise ConfigurationError("SIJILL_COUNCIL_MEMBERS must name at least SIJILL_COUNCIL_THRESHOLD addresses")
        if not self.public_base_url.startswith("https://"):
            raise ConfigurationError(
                f"SIJILL_PUBLIC_BASE_URL must be the service's https:// address in production, not "
                f"{self.public_base_url!r}: QR links and every credential's did:web issuer and status lists name it"
            )
        admin_token = self.admin_token.get_secret_value()
        if len(admin_token) < 32 or not admin_token.isascii() or not admin_token.isprintable():
            raise ConfigurationError(
                "SIJILL_ADMIN_TOKEN must be at least 32 printable ASCII characters in production, "
                "e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return self

    @property
    def development(self) -> bool:
        """True in development mode."""
        return self.mode == "development"

    @property
    def deployment_path(self) -> Path:
        """Where the deployment record lives."""
        return self.deployment_file or self.data_dir / "deployment.json"

    @property
    def run_dir(self) -> Path:
        """What the service processes of this host share while they run: rate-limit buckets, metrics."""
        return self.data_dir / "run"

    @property
    def database(self) -> str:
        """The SQLAlchemy URL of the store (SQLite in the data folder by default)."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'sijill.db').resolve()}"
