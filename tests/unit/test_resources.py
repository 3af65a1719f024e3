"""Files the code reads at run time: the packaged registry artifact, Anvil and the page, each named by a setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.chain.anvil import find_anvil
from ledger.chain.artifacts import ContractArtifact
from ledger.errors import ConfigurationError
from ledger.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_packaged_registry_is_hardhats_build() -> None:
    """The copy in the package is what Hardhat last compiled (`make build` copies it; a stale copy fails here)."""
    assert ContractArtifact.load() == ContractArtifact.load(ROOT / "artifacts")


def test_a_missing_artifact_names_its_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SIJILL_ARTIFACTS_DIR") as raised:
        ContractArtifact.load(tmp_path)
    assert str(tmp_path) in raised.value.message
    (tmp_path / "contracts" / "DocumentRegistry.sol").mkdir(parents=True)
    (tmp_path / "contracts" / "DocumentRegistry.sol" / "DocumentRegistry.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not a Hardhat artifact"):
        ContractArtifact.load(tmp_path)


def test_a_missing_anvil_names_its_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match="SIJILL_NODE_MODULES_DIR"):
        find_anvil(tmp_path / "node_modules")


def test_the_page_is_served_from_the_web_dir_setting(tmp_path: Path) -> None:
    """The page and its assets come from `web_dir`; without them the page is a 503 naming the setting."""
    (tmp_path / "static").mkdir()
    (tmp_path / "verify.html").write_text("<p>page</p>", encoding="utf-8")
    (tmp_path / "static" / "verify.css").write_text("p {}", encoding="utf-8")
    client = TestClient(create_app(Settings(web_dir=tmp_path, pipeline_worker=False)))
    assert client.get("/verify").text == "<p>page</p>"
    assert client.get("/static/verify.css").text == "p {}"

    missing = TestClient(create_app(Settings(web_dir=tmp_path / "nothing", pipeline_worker=False)))
    answer = missing.get("/verify")
    assert answer.status_code == 503
    assert "SIJILL_WEB_DIR" in answer.text
