"""The service: run it (chain, registry, API), deploy the registry, run the issuance pipeline alone."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import err, log_to_stderr, open_ledger, out
from cli.demo import loan_form
from ledger.settings import Settings
from ledger.usecases.setup import DEMO_FORM_PATH, ensure_deployment, seed_demo, seed_demo_relying_party
from ledger.usecases.worker import JobWorker, PipelineWorker


def up(
    chain: Annotated[bool, typer.Option(help="Start a local Anvil chain (off: use SIJILL_RPC_URL as it is)")] = True,
) -> None:
    """Start the chain, deploy the registry once, seed the demo agency (development) and serve the API."""
    import uvicorn

    from api.app import create_app
    from api.server import serve, uvicorn_options
    from ledger.chain.anvil import AnvilProcess

    log_to_stderr()
    settings = Settings()
    anvil = None
    with open_ledger() as ledger:
        if chain:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            anvil = AnvilProcess(
                port=settings.anvil_port,
                state_file=settings.data_dir / "chain" / "anvil-state.json",
                log_file=settings.data_dir / "anvil.log",
                node_modules=settings.node_modules_dir,
            ).start()
            err.print(f"chain: Anvil at {anvil.url} (state in {settings.data_dir / 'chain'})")
        try:
            record = ensure_deployment(ledger, redeploy_if_lost=settings.development)
            err.print(f"registry: {record.address} on chain {record.chain_id}")
            demo = settings.development and settings.seed_demo
            if demo and seed_demo(ledger):
                err.print(f"demo agency '{settings.demo_agency_id}' seeded with an issuer key")
            if demo and seed_demo_relying_party(ledger):
                err.print(f"demo relying party '{settings.demo_relying_party_id}' seeded")
            err.print(f"API: http://{settings.api_host}:{settings.api_port}  (docs at /docs)")
            if settings.api_workers > 1:  # processes of their own, each building the service from SIJILL_*
                serve(
                    host=settings.api_host,
                    port=settings.api_port,
                    workers=settings.api_workers,
                    forwarded_allow_ips=settings.forwarded_allow_ips,
                    run_dir=settings.run_dir,
                )
            else:
                app = create_app(ledger=ledger)
                form = loan_form(settings) if demo else None
                if form is not None:  # one process only: the workers above build the service alone
                    app.mount(DEMO_FORM_PATH, form)
                    err.print(f"demo loan form: {settings.public_base_url.rstrip('/')}{DEMO_FORM_PATH}/")
                uvicorn.run(
                    app,
                    host=settings.api_host,
                    port=settings.api_port,
                    log_level="info",
                    **uvicorn_options(settings.forwarded_allow_ips),
                )
        finally:
            if anvil is not None:
                anvil.stop()


def deploy(
    force: Annotated[bool, typer.Option(help="Deploy a new registry even if one is recorded")] = False,
) -> None:
    """Deploy the registry once and write the deployment record; later runs reuse it."""
    with open_ledger() as ledger:
        if force and ledger.settings.deployment_path.exists():
            ledger.settings.deployment_path.unlink()
        record = ensure_deployment(ledger, redeploy_if_lost=False)
        out.print(f"registry {record.address} on chain {record.chain_id}, block {record.block_number}")


def worker() -> None:
    """Run the issuance pipeline alone (batching and sending, and reading the sheets of issuance jobs),
    beside or instead of the service's own."""
    log_to_stderr()
    with open_ledger() as ledger:
        jobs = JobWorker(ledger).start()
        running = PipelineWorker(ledger)
        err.print(f"pipeline worker {running.owner}: batching and sending; Ctrl-C stops it")
        try:
            running.run()
        except KeyboardInterrupt:
            pass
        finally:
            jobs.stop()
            running.stop()
