"""The `sijill` command line on a real chain: the same use cases as the API."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from ledger.settings import Settings
from tests.integration.conftest import EXAMPLES, licence

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_issue_verify_obfuscate_revoke(env: Settings, tmp_path: Path) -> None:
    code, output = run("agency", "add", "moci", "Ministry of Commerce", "--name-ar", "وزارة التجارة")
    assert code == 0, output
    assert "API token (shown once;" in output
    code, output = run("key", "add", "moci")
    assert code == 0, output

    wrapped = tmp_path / "licence.wrapped.json"
    code, output = run("issue", str(EXAMPLES / "commercial-licence.json"), "--agency", "moci", "--out", str(tmp_path))
    assert code == 0, output
    shutil.move(tmp_path / "commercial-licence.wrapped.json", wrapped)
    document = json.loads(wrapped.read_text(encoding="utf-8"))

    code, output = run("verify", str(wrapped))
    assert code == 0, output
    assert "VALID" in output

    hidden = tmp_path / "hidden.json"
    code, output = run("obfuscate", str(wrapped), "--field", "subject.owner.nationalId", "--out", str(hidden))
    assert code == 0, output
    assert "nationalId" not in hidden.read_text(encoding="utf-8")
    assert run("verify", str(hidden))[0] == 0

    target = document["signature"]["targetHash"]
    code, output = run("revoke", target, "--agency", "moci", "--reason", "superseded")
    assert code == 0, output
    assert "REVOKED" in output
    code, output = run("verify", str(hidden))
    assert code == 1
    assert "REVOKED" in output

    code, output = run("verify", str(wrapped), "--json")
    assert code == 1
    assert json.loads(output)["status"] == "REVOKED"


def test_batch_suspend_reinstate(env: Settings, tmp_path: Path) -> None:
    run("agency", "add", "baladiya", "Doha Municipality")
    run("key", "add", "baladiya")
    folder = tmp_path / "batch"
    folder.mkdir()
    for number in ("CL-2026-000301", "CL-2026-000302"):
        (folder / f"{number}.json").write_text(json.dumps(licence(number)), encoding="utf-8")
    code, output = run("issue", str(folder), "--batch", "--agency", "baladiya", "--out", str(tmp_path / "out"))
    assert code == 0, output
    root = re.search(r"anchored root ([0-9a-f]{64})", output)
    assert root is not None
    permit = tmp_path / "out" / "CL-2026-000302.wrapped.json"
    target = json.loads(permit.read_text(encoding="utf-8"))["signature"]["targetHash"]
    assert run("suspend", target, "--agency", "baladiya", "--reason", "non-compliance")[0] == 0
    code, output = run("verify", str(permit))
    assert (code, "SUSPENDED" in output) == (1, True)
    assert run("reinstate", target, "--agency", "baladiya")[0] == 0
    assert run("verify", str(permit))[0] == 0


def test_errors_are_messages_with_exit_code_2(env: Settings, tmp_path: Path) -> None:
    code, output = run("verify", str(tmp_path / "missing.json"))
    assert code == 2
    assert "no file" in output
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    assert run("verify", str(tmp_path / "bad.json"))[0] == 2
    code, output = run("revoke", "ab" * 32, "--agency", "moci", "--admin")
    assert code == 2
    assert "either as an agency" in output
    code, output = run("issue", str(EXAMPLES / "commercial-licence.json"), "--agency", "nobody")
    assert code == 2
    assert "no agency 'nobody'" in output
