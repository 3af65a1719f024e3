"""Bringing an installation up: the deployment, and the development demo agency."""

from __future__ import annotations

import logging

from ledger.chain.deployment import DeploymentRecord, check_deployment, deploy_governed_registry
from ledger.chain.nodes import connect_pool
from ledger.errors import ConfigurationError, DeploymentError
from ledger.usecases.agencies import add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.credentials import add_credential_key
from ledger.usecases.relying_parties import register_relying_party

log = logging.getLogger(__name__)


def ensure_deployment(ledger: Ledger, *, redeploy_if_lost: bool) -> DeploymentRecord:
    """The registry's deployment record, deploying the registry if there is none.

    A record whose contract is gone (a reset development chain) is replaced when
    `redeploy_if_lost`, else `DeploymentError` is raised.
    """
    settings = ledger.settings
    web3 = connect_pool(ledger.nodes)
    label = ", ".join(ledger.nodes.urls)
    path = settings.deployment_path
    if path.exists():
        record = DeploymentRecord.load(path)
        try:
            check_deployment(web3, record, ledger.artifact, label)
            return record
        except DeploymentError:
            if not redeploy_if_lost:
                raise
            log.warning("the recorded registry is gone from the chain; deploying a new one")
    # The council first (a Safe of its members proposing to a timelock), then the registry it governs.
    signers = ledger.council_signers
    record = deploy_governed_registry(
        web3,
        ledger.artifact,
        ledger.admin,
        members=settings.council_members or [signer.address for signer in signers],
        threshold=settings.council_threshold,
        delay=settings.council_delay_seconds,
        member_signers=signers,
        rpc_url=label,
        admin_transfer_delay=settings.admin_transfer_delay_seconds,
        receipt_timeout=settings.receipt_timeout_seconds,
    )
    record.save(path)
    for cached in ("deployment", "registry", "network", "council"):
        ledger.__dict__.pop(cached, None)
    log.info("registry deployed at %s on chain %s (block %s)", record.address, record.chain_id, record.block_number)
    return record


def seed_demo(ledger: Ledger) -> bool:
    """Register the demo agency, its token, an issuer key and a credential key, once. Development only.

    Returns True when it seeded anything. Raises `ConfigurationError` outside development mode.
    """
    settings = ledger.settings
    if not settings.development:
        raise ConfigurationError("the demo agency is seeded in development mode only")
    if ledger.store.get_agency(settings.demo_agency_id) is not None:
        if ledger.registry.agency_name(settings.demo_agency_id) is None:
            raise ConfigurationError(
                f"the store at {settings.database} belongs to a registry that is gone from the chain; "
                f"remove {settings.data_dir} to start afresh"
            )
        if ledger.credentials.keys_of(settings.demo_agency_id):
            return False
        add_credential_key(ledger, settings.demo_agency_id)  # seeded by a version before credentials
        return True
    register_agency(
        ledger,
        settings.demo_agency_id,
        settings.demo_agency_name,
        "وزارة التجارة التجريبية",
        token=settings.demo_agency_token.get_secret_value(),
    )
    add_issuer_key(ledger, settings.demo_agency_id)
    add_credential_key(ledger, settings.demo_agency_id)
    return True


DEMO_FORM_PATH = "/demo/loan"
"""Where `sijill up` serves the demo relying party's loan form (development)."""


def seed_demo_relying_party(ledger: Ledger) -> bool:
    """Register the demo bank (a relying party with a known token), once. Development only.

    Returns True when it registered it. Raises `ConfigurationError` outside development mode.
    """
    settings = ledger.settings
    if not settings.development:
        raise ConfigurationError("the demo relying party is seeded in development mode only")
    if ledger.presentations.party(settings.demo_relying_party_id) is not None:
        return False
    base = settings.public_base_url.rstrip("/")
    register_relying_party(
        ledger,
        party_id=settings.demo_relying_party_id,
        name="Pearl Bank (demo)",
        name_ar="بنك اللؤلؤ (تجريبي)",
        redirect_uris=[f"{base}{DEMO_FORM_PATH}/return"],
        token=settings.demo_relying_party_token.get_secret_value(),
    )
    return True
