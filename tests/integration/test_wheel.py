"""The wheel carries what a verifier needs: built offline, installed into a fresh venv, it verifies.

The fresh venv borrows the checkout venv's dependencies through a `.pth` line (installing them
again would cost minutes). A `.pth` line only adds a folder to `sys.path`: the `.pth` files inside
it, among them the editable install's finder of `ledger`, `api` and `cli`, are not run, and the
fresh venv's own site-packages comes first. The test still checks that the wheel's code is what runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from ledger.usecases.agencies import RegisteredAgency
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import IssueRequest, issue_documents
from tests.integration.conftest import licence

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "ledger", "api", "cli")
PACKAGED_ABI = "ledger/chain/compiled/DocumentRegistry.json"
TIMEOUT = 120


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`command`, its output captured; a failure shows what it printed."""
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert completed.returncode == 0, f"{command[:3]} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed


def outside_env() -> dict[str, str]:
    """The environment less every SIJILL_* setting and PYTHONPATH: nothing leads back to the checkout."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith("SIJILL_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline from a copy of the sources (the build writes build/ and egg-info beside them)."""
    source, dist = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, source / name)
    build = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index"]
    run([*build, "--quiet", "--disable-pip-version-check", "-w", str(dist)], cwd=source)
    (built,) = dist.glob("sijill-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed, the checkout venv's site-packages behind its own."""
    home = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(home)], cwd=home)
    python = home / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index"]
    run([*install, "--quiet", "--disable-pip-version-check", str(wheel)], cwd=home)
    site = Path(
        run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=home).stdout.strip()
    )
    (site / "checkout-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return home


def test_the_wheel_carries_the_abi(wheel: Path) -> None:
    """The registry's artifact is in the wheel, as Hardhat wrote it."""
    with zipfile.ZipFile(wheel) as archive:
        packaged = json.loads(archive.read(PACKAGED_ABI))
    built = json.loads((ROOT / "artifacts/contracts/DocumentRegistry.sol/DocumentRegistry.json").read_text("utf-8"))
    assert packaged == built


def test_the_installed_wheel_verifies_a_document(
    venv: Path, ledger: Ledger, moci: RegisteredAgency, tmp_path: Path
) -> None:
    """`sijill verify` of the fresh venv, run outside the checkout, finds a document VALID with the wheel's code."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = "import api, cli, ledger; print(ledger.__file__, api.__file__, cli.__file__, sep='\\n')"
    for module_file in run(
        [str(venv / "bin" / "python"), "-c", probe], cwd=elsewhere, env=outside_env()
    ).stdout.split():
        assert Path(module_file).is_relative_to(venv), f"{module_file} is not the wheel's"

    issued = issue_documents(ledger, "moci", [IssueRequest("commercial-licence", licence("CL-2026-004242")["fields"])])
    document = elsewhere / "licence.wrapped.json"
    document.write_text(json.dumps(issued.documents[0]), encoding="utf-8")
    env = {
        **outside_env(),
        "SIJILL_RPC_URL": ledger.settings.rpc_url,
        "SIJILL_DEPLOYMENT_FILE": str(ledger.settings.deployment_path),
        "SIJILL_DATA_DIR": str(elsewhere / "data"),
    }
    completed = subprocess.run(
        [str(venv / "bin" / "sijill"), "verify", str(document)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, f"sijill verify failed:\n{completed.stdout}\n{completed.stderr}"
    assert completed.stdout.split()[0] == "VALID", completed.stdout
