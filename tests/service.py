"""The whole service on a free port of 127.0.0.1, served by uvicorn in a thread, for tests that need
a real HTTP server (the browser, Node verifiers fetching status lists and DID documents)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from api.app import create_app
from ledger.chain.anvil import free_port
from ledger.chain.deployment import DeploymentRecord
from ledger.settings import Settings
from ledger.usecases.context import Ledger


class ServerThread:
    """uvicorn serving an app in a thread, stopped cleanly."""

    def __init__(self, ledger: Ledger, port: int, mounts: dict[str, Any] | None = None) -> None:
        app = create_app(ledger=ledger)
        for path, mounted in (mounts or {}).items():  # applications served beside the service (the demo form)
            app.mount(path, mounted)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(tmp_path: Path, anvil_url: str, deployment: DeploymentRecord) -> tuple[Settings, int]:
    port = free_port()
    deployment.save(tmp_path / "deployment.json")
    settings = Settings(
        data_dir=tmp_path,
        rpc_url=anvil_url,
        database_url=f"sqlite:///{tmp_path / 'sijill.db'}",
        seed_demo=False,
        public_base_url=f"http://127.0.0.1:{port}",
        rpc_timeout_seconds=3,
    )
    return settings, port
