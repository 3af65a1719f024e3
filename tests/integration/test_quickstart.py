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

pytestmark = pytest.mark.anvil_only  # `sijill up` starts Anvil itself

ROOT = Path(__file__).resolve().parents[2]


def readme_script(name: str) -> str:
    """The commands of one of the README's runnable blocks (the fenced block between its `name` markers)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(rf"<!-- {name}:begin -->\s*```bash\n(.*?)```\s*<!-- {name}:end -->", readme, re.DOTALL)
    assert block, f"the README's {name} block is missing"
    return block.group(1)


def readme_output(name: str) -> list[str]:
    """The lines the README says block `name` prints (the fenced block after "It prints:")."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(rf"<!-- {name}:end -->\s*It prints:\s*```[^\n]*\n(.*?)```", readme, re.DOTALL)
    assert block, f"the README's {name} block no longer says what it prints (a fenced block after 'It prints:')"
    lines = block.group(1).splitlines()
    assert lines, f"the README's 'It prints:' block after {name} is empty"
    return lines


def service_env(tmp_path: Path, api_port: int, chain_port: int) -> dict[str, str]:
    """The environment of `sijill up` with its own data folder and ports: the command line, given the same,
    works on the same installation (as in a second terminal beside `make run`)."""
    env = {
        **os.environ,
        "SIJILL_DATA_DIR": str(tmp_path / "data"),
        "SIJILL_API_PORT": str(api_port),
        "SIJILL_ANVIL_PORT": str(chain_port),
        "SIJILL_RPC_URL": f"http://127.0.0.1:{chain_port}",
        "SIJILL_PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
    }
    for name in ("SIJILL_DATABASE_URL", "SIJILL_DEPLOYMENT_FILE"):
        env.pop(name, None)
    return env


@contextmanager
def running_service(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """`sijill up` with its own chain, data folder and ports; stopped with Ctrl-C as a person would."""
    api_port, chain_port = free_port(), free_port()
    env = service_env(tmp_path, api_port, chain_port)
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


@pytest.mark.parametrize("name", ["quickstart", "credentials", "presentations", "sheets", "doctypes"])
def test_the_readme_examples_work_as_written(service: tuple[int, int], tmp_path: Path, name: str) -> None:
    """The README's quick start, its credentials example and its presentation example, run by bash against
    `sijill up` from a copy of the repository's examples (and its .venv), succeed and print what the README
    says."""
    api_port, chain_port = service
    expected = readme_output(name)
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    (work / ".venv").symlink_to(ROOT / ".venv")
    script = readme_script(name).replace("API=http://127.0.0.1:8000", f"API=http://127.0.0.1:{api_port}")
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        env=service_env(tmp_path, api_port, chain_port),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"the README's {name} failed ({completed.returncode}):\n{completed.stderr}"
    printed = completed.stdout.splitlines()
    assert printed == expected, f"expected the README's output {expected}, found {printed}"


def test_stopping_the_service_stops_its_chain_and_keeps_its_state(tmp_path: Path) -> None:
    """Ctrl-C on `sijill up` stops its chain; the chain's state and the deployment record stay on disk."""
    with running_service(tmp_path) as (_api_port, chain_port):
        assert rpc_ready(f"http://127.0.0.1:{chain_port}")
    assert not rpc_ready(f"http://127.0.0.1:{chain_port}")
    assert (tmp_path / "data" / "chain" / "anvil-state.json").exists()
    assert (tmp_path / "data" / "deployment.json").exists()


def test_sijill_up_serves_the_demo_loan_form(service: tuple[int, int]) -> None:
    """`make run` serves the demo relying party's form, which asks Sijill for a request when used."""
    api_port, _chain_port = service
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/demo/loan/", timeout=10) as response:
        page = response.read().decode("utf-8")
    assert "Business loan application" in page
    start = urllib.request.Request(f"http://127.0.0.1:{api_port}/demo/loan/start", method="POST")
    with urllib.request.urlopen(start, timeout=30) as response:
        asked = response.read().decode("utf-8")
    assert f"http://127.0.0.1:{api_port}/present#request_uri=" in asked
