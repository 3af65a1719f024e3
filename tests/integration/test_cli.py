"""The `sijill` command line on a real chain: the same use cases as the API."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from eth_account import Account
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app
from ledger.settings import DEV_COUNCIL_KEYS, Settings
from ledger.usecases.agencies import RegisteredAgency, add_issuer_key, register_agency
from ledger.usecases.context import Ledger
from ledger.usecases.council import enact
from ledger.usecases.sending import send_call
from tests.integration.conftest import EXAMPLES, auth, example, licence

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def flat(text: str) -> str:
    """`text` without the spaces, line breaks and box edges Rich wraps it in."""
    return "".join(text.replace("│", " ").split())


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
    assert "noagency'nobody'" in flat(output)


def test_issue_input_is_read_as_the_api_reads_it(
    env: Settings, client: TestClient, moci: RegisteredAgency, tmp_path: Path
) -> None:
    """One model reads `{document_type, fields, expires_at?}`: the CLI names the field the API's 422 names."""
    good = example("commercial-licence")
    cases: dict[str, Any] = {
        "colour": {**good, "colour": "red"},
        "fields": {"document_type": good["document_type"]},
        "expires_at": {**good, "expires_at": "2030-01-01T00:00:00"},
        "document_type": {**good, "document_type": "x" * 65},
    }
    for field, request in cases.items():
        response = client.post("/v1/documents", json=request, headers=auth(moci.token))
        assert (response.status_code, response.json()["error"]["field"]) == (422, field)
        path = tmp_path / f"{field}.json"
        path.write_text(json.dumps(request), encoding="utf-8")
        code, output = run("issue", str(path), "--agency", "moci")
        assert code == 2, output
        assert flat(f"{path}: '{field}'") in flat(output)
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    code, output = run("issue", str(tmp_path / "list.json"), "--agency", "moci")
    assert (code, "must hold" in output) == (2, True)


def test_choices_are_shown_and_checked(tmp_path: Path) -> None:
    code, output = run("audit", "export", "--out", str(tmp_path / "events.xml"), "--format", "xml")
    assert code == 2
    assert flat("is not one of 'jsonl', 'csv'") in flat(output)
    assert not (tmp_path / "events.xml").exists()
    code, output = run("apikey", "create", "--scope", "everything")
    assert code == 2
    assert flat("is not one of 'issue', 'revoke', 'audit', 'admin'") in flat(output)
    assert "<jsonl|csv>" in run("audit", "export", "--help")[1]


def test_audit_help_names_the_real_default_folder() -> None:
    """`run_audit` defaults to `audit_dir`: audit/ under SIJILL_DATA_DIR, not a fixed data/audit."""
    code, output = run("audit", "run", "--help")
    assert code == 0
    assert flat("(default: audit in SIJILL_DATA_DIR, data/audit when unset)") in flat(output)


def test_the_council_from_the_command_line(env: Settings, tmp_path: Path) -> None:
    """A member proposes with their own key file, another approves with theirs, anyone executes."""
    keys = []
    for index, key in enumerate(DEV_COUNCIL_KEYS[:2]):
        path = tmp_path / f"member-{index}.key"
        path.write_text(key + "\n", encoding="utf-8")
        path.chmod(0o600)
        keys.append(str(path))
    admin = Account.create().address
    code, output = run(
        "council", "propose", "admit-agency", "--set", "agency_id=mme", "--set", "name=Ministry", "--set",
        f"admin={admin}", "--key-file", keys[0],
    )  # fmt: skip
    assert code == 0, output
    assert "#1 proposed: admit agency 'mme' (Ministry)" in output
    code, output = run("council", "approve", "1", "--key-file", keys[0])
    assert code == 2
    assert "approved proposal #1 already" in output
    code, output = run("council", "approve", "1", "--key-file", keys[1])
    assert code == 0, output
    assert "scheduled" in output or "executable" in output
    code, output = run("council", "execute", "1")
    assert code == 0, output
    assert "#1 executed" in output
    code, output = run("council", "status", "1", "--json")
    assert json.loads(output)["state"] == "executed"
    assert "#1 executed: admit agency 'mme'" in run("council", "list")[1]
    world_readable = tmp_path / "open.key"
    world_readable.write_text(DEV_COUNCIL_KEYS[2], encoding="utf-8")
    world_readable.chmod(0o644)
    code, output = run("council", "approve", "1", "--key-file", str(world_readable))
    assert code == 2
    assert flat("may be read by others") in flat(output)


def test_an_agency_holding_its_own_admin_key_manages_its_keys_with_it(env: Settings, tmp_path: Path) -> None:
    own_admin = Account.create()
    ledger = Ledger(env)
    try:
        send_call(ledger, ledger.admin, own_admin.address, value=10**18)
        enact(
            ledger, "admit-agency", {"agency_id": "qfc", "name": "Qatar Financial Centre", "admin": own_admin.address}
        )
        register_agency(ledger, "qfc", "Qatar Financial Centre")  # adopts what the council admitted
    finally:
        ledger.close()
    code, output = run("key", "add", "qfc")
    assert code == 2
    assert "holds its own admin key" in output
    path = tmp_path / "qfc-admin.key"
    path.write_text("0x" + own_admin.key.hex().removeprefix("0x"), encoding="utf-8")
    path.chmod(0o600)
    code, output = run("key", "add", "qfc", "--admin-key-file", str(path))
    assert code == 0, output
    address = output.split()[2]
    code, output = run("key", "extend", address, "--until", str(2**39), "--admin-key-file", str(path))
    assert code == 0, output
    assert f"valid until {2**39}" in output
    code, output = run("key", "retire", address, "--admin-key-file", str(path))
    assert code == 0, output


def test_keys_sealed_the_old_way_are_sealed_anew_and_still_sign(env: Settings) -> None:
    """`sijill key reseal`: an issuer key and an admin key an earlier version sealed (Fernet, not bound to
    the address) come out in the current form, open to the same address, and the agency still issues."""
    ledger = Ledger(env)
    try:
        register_agency(ledger, "moci", "Ministry of Commerce")
        key = add_issuer_key(ledger, "moci")
        admin = ledger.agency_admins.get("moci")
        assert admin is not None
        secret = env.key_encryption_key.get_secret_value().encode()
        legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))
        for table, address, sealed in (
            (ledger.store, key.address, key.encrypted_key),
            (ledger.agency_admins, admin.address, admin.encrypted_key),
        ):
            private = bytes(ledger.vault.decrypt(sealed, address).key)
            assert table.reseal_key(address, sealed, legacy.encrypt(private).decode())  # as an old version kept it
        code, output = run("key", "reseal")
        assert code == 0, output
        assert "sealed anew: 1 issuer key(s), 1 agency admin key(s)" in output
        for address, sealed in [*ledger.store.sealed_keys(), *ledger.agency_admins.sealed_keys()]:
            assert sealed.startswith("v2:")
            assert ledger.vault.decrypt(sealed, address).address == address
        assert "sealed anew: 0 issuer key(s), 0 agency admin key(s); 2 already current" in run("key", "reseal")[1]
        code, output = run("issue", str(EXAMPLES / "commercial-licence.json"), "--agency", "moci")
        assert code == 0, output
    finally:
        ledger.close()


def test_a_relying_party_is_registered_and_listed_from_the_command_line(env: Settings) -> None:
    code, output = run(
        "party", "add", "pearl-bank", "Pearl Bank", "--name-ar", "بنك اللؤلؤ",
        "--redirect-uri", "https://bank.example/done", "--callback-url", "https://bank.example/results",
    )  # fmt: skip
    assert code == 0, output
    token = re.search(r"scope relying-party\):\s+(sjl_\S+)", output)
    assert token, output
    assert "callback secret (shown once" in output
    ledger = Ledger(env)
    assert ledger.presentations.party("pearl-bank") is not None
    ledger.close()
    code, output = run("party", "list")
    assert code == 0
    assert "pearl-bank" in flat(output)
    assert "PearlBank" in flat(output)
    code, output = run("party", "add", "pearl-bank", "Again", "--name-ar", "مرة")
    assert code == 2
    assert "registered already" in output


def test_a_spreadsheet_is_mapped_and_checked_from_the_command_line(env: Settings, tmp_path: Path) -> None:
    sheet = tmp_path / "graduates.csv"
    sheet.write_text(
        "Certificate number,Graduate (English),Student ID,Degree (English),Major (English),GPA,Graduation date\n"
        "QU-BSC-2026-0001,Noora Al-Mannai,201904512,Bachelor of Science,Computer Engineering,3.71,2026-06-15\n"
        "bad id!,Khalid,201904513,Bachelor of Arts,History,five,2026-06-15\n",
        encoding="utf-8",
    )
    code, output = run(
        "sheet", "map", str(sheet), "--type", "academic-certificate", "--out", str(tmp_path / "map.yaml")
    )
    assert code == 0, output
    assert "GPA: gpa" in (tmp_path / "map.yaml").read_text(encoding="utf-8")
    code, output = run("sheet", "check", str(sheet), "--map", str(tmp_path / "map.yaml"), "--report",
                       str(tmp_path / "report.csv"))  # fmt: skip
    assert code == 1, output
    assert "2 rows read, 1 ready to issue, 2 problem(s)" in output
    report = (tmp_path / "report.csv").read_text(encoding="utf-8").splitlines()
    assert report[0] == "row,column,field,message"
    assert report[1].startswith("3,Certificate number,certificateNumber,")
    assert report[2] == "3,GPA,gpa,\"holds 'five', not a number\""


def test_a_document_type_is_registered_listed_and_shown_from_the_command_line(env: Settings, tmp_path: Path) -> None:
    ledger = Ledger(env)
    register_agency(ledger, "mme", "Ministry of Municipality", "وزارة البلدية")
    ledger.close()
    definition = str(EXAMPLES / "types" / "food-health-certificate.json")
    code, output = run("type", "add", definition, "--agency", "mme")
    assert code == 0, output
    assert "documenttype'food-health-certificate'version1registered(agency'mme')" in flat(output)
    hash_hex = re.search(r"definitionhash:(0x[0-9a-f]{64})", flat(output))
    assert hash_hex, output
    code, output = run("type", "add", definition, "--agency", "mme")  # a retry: the same version
    assert code == 0, output
    assert "version1registeredalready,thesamedefinition" in flat(output)
    changed = json.loads(Path(definition).read_text(encoding="utf-8"))
    changed["schema"]["properties"]["grade"]["enum"].append("D")
    (tmp_path / "v2.json").write_text(json.dumps(changed), encoding="utf-8")
    code, output = run("type", "add", str(tmp_path / "v2.json"), "--agency", "mme")
    assert code == 0, output
    assert "version2registered" in flat(output)
    code, output = run("type", "list")
    assert code == 0
    assert "food-health-certificate" in flat(output)
    assert "commercial-licence" in flat(output)
    code, output = run("type", "show", "food-health-certificate", "--out", str(tmp_path / "type.json"))
    assert code == 0, output
    shown = json.loads((tmp_path / "type.json").read_text(encoding="utf-8"))
    assert [(v["version"], v["owner"], v["registered"]) for v in shown["versions"]] == [
        (1, "mme", True),
        (2, "mme", True),
    ]
    assert shown["versions"][0]["definition_hash"] == hash_hex.group(1)
    code, output = run("type", "add", definition, "--agency", "nobody")
    assert code == 2
    assert "noagency'nobody'" in flat(output)
