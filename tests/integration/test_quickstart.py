"""The README's quick start, run exactly as written against a real `sijill up`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ledger.chain.anvil import free_port, rpc_ready

ROOT = Path(__file__).resolve().parents[2]


def quickstart_script() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- quickstart:begin -->\s*```bash\n(.*?)```\s*<!-- quickstart:end -->", readme, re.DOTALL)
    assert block, "the README's quick start block is missing"
    return block.group(1)


@contextmanager
def running_service(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """`sijill up` with its own chain, data folder and ports; stopped with Ctrl-C as a person would."""
    api_port, chain_port = free_port(), free_port()
    env = {
        **os.environ,
        "SIJILL_DATA_DIR": str(tmp_path / "data"),
        "SIJILL_API_PORT": str(api_port),
        "SIJILL_ANVIL_PORT": str(chain_port),
        "SIJILL_RPC_URL": f"http://127.0.0.1:{chain_port}",
    }
    for name in ("SIJILL_DATABASE_URL", "SIJILL_DEPLOYMENT_FILE"):
        env.pop(name, None)
    log = (tmp_path / "up.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "up"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "up.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("sijill up did not become healthy:\n" + (tmp_path / "up.log").read_text())
        yield api_port, chain_port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """The service for one test."""
    with running_service(tmp_path) as ports:
        yield ports


def test_quickstart_works_as_written(service: tuple[int, int], tmp_path: Path) -> None:
    api_port, _chain_port = service
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    script = quickstart_script().replace("API=http://127.0.0.1:8000", f"API=http://127.0.0.1:{api_port}")
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=work, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "VALID - issued by Demo Ministry of Commerce and valid",
        "VALID - issued by Demo Ministry of Commerce and valid",
        "REVOKED - the document was revoked (superseded)",
        "REVOKED - the document was revoked (superseded)",
    ]


def test_stopping_the_service_stops_its_chain_and_keeps_its_state(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_api_port, chain_port):
        assert rpc_ready(f"http://127.0.0.1:{chain_port}")
    assert not rpc_ready(f"http://127.0.0.1:{chain_port}")
    assert (tmp_path / "data" / "chain" / "anvil-state.json").exists()
    assert (tmp_path / "data" / "deployment.json").exists()
