"""The verification page reads a document as the core does: web/src/document.js beside ledger/documents.

The page (web/src/verify.js) unsalts a document's data itself to show its fields, and decodes a share
link's key itself. These tests run the page's functions under Node (page_document.mjs, one process
for the whole module) beside the core's, over documents the core wrapped (the examples, whole and
with fields hidden) and over values Hypothesis makes, and require the same answer from both.
"""

from __future__ import annotations

import base64
import json
import math
import select
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.documents.salt import MAX_SAFE_INTEGER, salt_data, unsalt_data
from ledger.documents.share import _b64url
from ledger.documents.wrap import obfuscate, wrap_documents
from ledger.errors import CredentialError
from ledger.render.pdf import CertificateFacts, extract_document, render_certificate
from ledger.render.qr import qr_png
from ledger.vc.credential import type_name
from ledger.vc.loader import CREDENTIALS_V2, DATA_INTEGRITY_V2, MULTIKEY_V1, UNDEFINED_TERMS_V2, ContextLoader
from ledger.vc.rdf import check_shape
from tests.profile import scaled
from tests.unit.documents import CHAIN_ID, REGISTRY

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("page_document.mjs")
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
ANSWER_SECONDS = 30


class PageFunctions:
    """web/src/document.js in one Node process, asked one question a line."""

    def __init__(self, stderr: IO[str]) -> None:
        node = shutil.which("node")
        assert node, "Node.js is part of the toolchain (make setup)"
        self._stderr = stderr
        # web/src/*.js are ES modules in a package that declares no type (the bundler's view of them
        # stays as it is); Node finds out by itself, and this is only its warning that it had to.
        self._process = subprocess.Popen(
            [node, "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON", str(RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
            text=True,
            encoding="utf-8",
        )

    def unsalt(self, value: Any) -> Any:
        return self._call("unsalt", value)

    def from_base64url(self, text: str) -> bytes:
        return bytes.fromhex(self._call("fromBase64Url", text))

    def type_name(self, name: str) -> str:
        """web/src/document.js `typeName`: a document type's name as a credential type."""
        answer: str = self._call("typeName", name)
        return answer

    def target_hash(self, data: Any, obfuscated: list[str]) -> str:
        """web/src/document.js `targetHash`: what the verification page computes instead of sending fields."""
        answer: str = self._call("targetHash", {"data": data, "obfuscated": obfuscated})
        return answer

    def hide_fields(self, document: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        """web/src/document.js `hideFields`: the consent page's copy showing only the requested claims."""
        answer: dict[str, Any] = self._call("hideFields", {"document": document, "paths": paths})
        return answer

    def unrequested_paths(self, subject: Any, requested: list[list[Any]]) -> list[str]:
        answer: list[str] = self._call("unrequestedPaths", {"subject": subject, "requested": requested})
        return answer

    def embedded_document(self, pdf: bytes) -> dict[str, Any]:
        """web/src/document.js `embeddedDocument`: the document a Sijill PDF carries, read in the browser."""
        answer: dict[str, Any] = self._call("embeddedDocument", base64.b64encode(pdf).decode("ascii"))
        return answer

    def credential_shape_problem(self, document: Any, known: list[str]) -> str | None:
        """web/src/document.js `credentialShapeProblem`: why the page refuses a credential before its proof."""
        answer: str | None = self._call("credentialShapeProblem", {"document": document, "known": known})
        return answer

    def _call(self, name: str, argument: Any) -> Any:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps({"call": name, "argument": argument}) + "\n")
        stdin.flush()
        ready, _, _ = select.select([stdout], [], [], ANSWER_SECONDS)
        assert ready, f"the page's {name} did not answer within {ANSWER_SECONDS} s; {self._errors()}"
        line = stdout.readline()
        assert line, f"the Node runner ended (exit code {self._process.poll()}); {self._errors()}"
        answer = json.loads(line, object_hook=_non_finite)
        assert "error" not in answer, f"the page's {name} threw {answer['error']} on {argument!r}"
        return answer["result"]

    def _errors(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return f"it wrote: {self._stderr.read()!r}"

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=ANSWER_SECONDS)


def _non_finite(value: dict[str, Any]) -> Any:
    """NaN and the infinities, which the runner sends as {"\\u0000number": "NaN"} since JSON has none."""
    return float(value["\0number"]) if value.keys() == {"\0number"} else value


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageFunctions]:
    """The page's document functions, one Node process for the module."""
    with (tmp_path_factory.mktemp("page") / "stderr.txt").open("w+", encoding="utf-8") as stderr:
        functions = PageFunctions(stderr)
        yield functions
        functions.close()


# --- comparing -----------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """The JSON type of a value: Python's `True == 1` must not let a boolean pass for a number."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def difference(page: Any, core: Any, path: str = "data") -> str | None:
    """Where two JSON values first differ (by JSON type, then value; key order aside), or None.

    Numbers are compared as JavaScript holds them, as doubles: 3 and 3.0 are one number, and so are
    58350800096247510 (JavaScript's digits) and 58350800096247512 (the double's exact value, which the
    core's unsalting gives as a Python int).
    """
    if _kind(page) != _kind(core):
        return f"at {path} the page has {page!r} ({_kind(page)}), the core {core!r} ({_kind(core)})"
    if isinstance(page, list):
        if len(page) != len(core):
            return f"at {path} the page has {len(page)} items, the core {len(core)}"
        for index, (left, right) in enumerate(zip(page, core, strict=True)):
            if found := difference(left, right, f"{path}.{index}"):
                return found
        return None
    if isinstance(page, dict):
        if page.keys() != core.keys():
            return (
                f"at {path} only the page has the keys {sorted(page.keys() - core.keys())}, "
                f"only the core {sorted(core.keys() - page.keys())}"
            )
        for key in page:
            if found := difference(page[key], core[key], f"{path}.{key}"):
                return found
        return None
    if _kind(page) == "number":
        same = float(page) == float(core) or (math.isnan(page) and math.isnan(core))
    else:
        same = page == core
    return None if same else f"at {path} the page has {page!r}, the core {core!r}"


def assert_read_alike(salted: Any, page: Any, core: Any) -> None:
    found = difference(page, core)
    assert found is None, (
        f"the page and the core read a value differently: {found}\n"
        f"  salted: {salted!r}\n"
        f"  page (web/src/document.js unsalt): {page!r}\n"
        f"  core (ledger.documents.salt.unsalt_data): {core!r}"
    )


def test_the_comparison_tells_a_boolean_from_a_number_and_a_string_from_a_number() -> None:
    assert difference([True], [1]) == "at data.0 the page has True (boolean), the core 1 (number)"
    assert difference({"a": "1"}, {"a": 1}) == "at data.a the page has '1' (string), the core 1 (number)"
    assert difference({"a": 3}, {"a": 3.0}) is None
    assert difference(58350800096247510, 58350800096247512) is None
    assert (
        difference(9007199254740991, 9007199254740990)
        == "at data the page has 9007199254740991, the core 9007199254740990"
    )
    assert difference({"a": {}}, {"a": {"b": None}}) == "at data.a only the page has the keys [], only the core ['b']"


# --- documents the core made -------------------------------------------------------------------


def issued(example: Path) -> dict[str, Any]:
    """An example's data in the shape the service issues it (`build_document_data` in ledger/usecases/issuance.py)."""
    body = json.loads(example.read_text(encoding="utf-8"))
    data: dict[str, Any] = {
        "documentType": body["document_type"],
        "issuers": [
            {
                "name": "Ministry of Commerce and Industry",
                "documentStore": REGISTRY,
                "identityProof": {"type": "DNS-TXT", "location": "moci.gov.qa"},
            }
        ],
        "sijill": {
            "version": 1,
            "chainId": CHAIN_ID,
            "registry": REGISTRY,
            "agencyId": "moci",
            "agencyName": {"en": "Ministry of Commerce and Industry", "ar": "وزارة التجارة والصناعة"},
        },
        "subject": body["fields"],
    }
    if isinstance(body["fields"].get("expiryDate"), str):
        data["validUntil"] = f"{body['fields']['expiryDate']}T23:59:59+00:00"
    return data


@pytest.fixture(scope="module")
def wrapped() -> dict[str, dict[str, Any]]:
    """Every example, wrapped in one batch, by file name."""
    documents = wrap_documents([issued(example) for example in EXAMPLES])
    return {example.name: document for example, document in zip(EXAMPLES, documents, strict=True)}


def hidings(document: dict[str, Any]) -> list[list[str]]:
    """Every visible subject field hidden alone (objects whole and each of their leaves), then all at once."""
    paths: list[str] = []

    def walk(value: Any, path: str) -> None:
        paths.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}")

    for key, item in document["data"]["subject"].items():
        walk(item, f"subject.{key}")
    return [[path] for path in paths] + [[f"subject.{key}" for key in document["data"]["subject"]]]


def test_there_are_examples_to_read() -> None:
    assert len(EXAMPLES) >= 3, EXAMPLES


@pytest.mark.parametrize("example", [example.name for example in EXAMPLES])
def test_the_page_reads_each_example_document_as_the_core_does(
    page: PageFunctions, wrapped: dict[str, dict[str, Any]], example: str
) -> None:
    data = wrapped[example]["data"]
    assert_read_alike(data, page.unsalt(data), unsalt_data(data))


@pytest.mark.parametrize("example", [example.name for example in EXAMPLES])
def test_the_page_reads_each_example_with_fields_hidden_as_the_core_does(
    page: PageFunctions, wrapped: dict[str, dict[str, Any]], example: str
) -> None:
    for paths in hidings(wrapped[example]):
        data = obfuscate(wrapped[example], paths)["data"]
        assert_read_alike(data, page.unsalt(data), unsalt_data(data))


@pytest.mark.parametrize("example", [example.name for example in EXAMPLES])
def test_the_page_hides_fields_and_hashes_a_document_as_the_core_does(
    page: PageFunctions, wrapped: dict[str, dict[str, Any]], example: str
) -> None:
    document = wrapped[example]
    for paths in hidings(document):
        copy = page.hide_fields(document, paths)
        assert copy == obfuscate(document, paths)
        assert page.target_hash(copy["data"], copy["privacy"]["obfuscatedData"]) == document["signature"]["targetHash"]
    assert page.target_hash(document["data"], []) == document["signature"]["targetHash"]


@pytest.mark.parametrize("example", [example.name for example in EXAMPLES])
def test_the_page_reads_the_document_a_sijill_pdf_carries_as_the_core_does(
    page: PageFunctions, wrapped: dict[str, dict[str, Any]], example: str
) -> None:
    document = obfuscate(wrapped[example], hidings(wrapped[example])[0])  # a copy, with a field hidden
    facts = CertificateFacts(
        agency_name="Ministry of Commerce and Industry",
        agency_name_ar="وزارة التجارة والصناعة",
        title=example,
        title_ar=example,
        label=lambda name: (name, name),
        anchored_at=None,
        expires_at=None,
        verification_qr_png=qr_png("https://sijill.example/verify"),
        registry=REGISTRY,
        chain_id=CHAIN_ID,
    )
    pdf = render_certificate(document, facts)
    assert page.embedded_document(pdf) == extract_document(pdf) == document


KNOWN = [CREDENTIALS_V2, UNDEFINED_TERMS_V2, DATA_INTEGRITY_V2, MULTIKEY_V1]
CREDENTIAL: dict[str, Any] = {
    "@context": [CREDENTIALS_V2, UNDEFINED_TERMS_V2],
    "id": "urn:sijill:" + "ab" * 32,
    "type": ["VerifiableCredential", "CommercialLicence"],
    "issuer": "did:web:sijill.example:agencies:moci",
    "validFrom": "2026-01-01T00:00:00Z",
    "credentialSubject": {"tradeName": {"en": "Pearl", "ar": "لؤلؤ"}, "activities": [{"code": "4690"}], "floors": 2},
}


def _changed(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    document = json.loads(json.dumps(CREDENTIAL))
    change(document)
    return document


SHAPES = [
    lambda d: None,
    lambda d: d["credentialSubject"].update({"@context": {"tradeName": "https://schema.org/name"}}),
    lambda d: d.update({"@context": [CREDENTIALS_V2, {"tradeName": "https://schema.org/name"}]}),
    lambda d: d.update({"@context": [CREDENTIALS_V2, "https://example.org/other/v1"]}),
    lambda d: d.update({"@context": CREDENTIALS_V2}),
    lambda d: d["credentialSubject"].update({"owner": None}),
    lambda d: d["credentialSubject"].update({"@id": "urn:x"}),
    lambda d: d["credentialSubject"].update({"id": "not an iri"}),
    lambda d: d["credentialSubject"].update({"id": "_:b0"}),
    lambda d: d.update({"type": ["VerifiableCredential", "Commercial Licence"]}),
    lambda d: d["credentialSubject"].update({"note": "a\\b"}),
    lambda d: d["credentialSubject"].update({"note": "line\nbreak"}),
    lambda d: d["credentialSubject"].update({"note": "urn:bnid:_:c14n0"}),
    lambda d: d["credentialSubject"].update({"big": 2**53 + 1}),
    lambda d: d["credentialSubject"].update({"key with space": 1}),
]


@pytest.mark.parametrize("change", SHAPES, ids=[f"shape{n}" for n in range(len(SHAPES))])
def test_the_page_refuses_the_credential_shapes_the_core_refuses(
    page: PageFunctions, change: Callable[[dict[str, Any]], Any]
) -> None:
    document = _changed(change)
    try:
        check_shape(document, ContextLoader())
        core: str | None = None
    except CredentialError as error:
        core = error.message
    assert page.credential_shape_problem(document, KNOWN) == core


def test_the_page_keeps_the_requested_claims_and_hides_the_rest(
    page: PageFunctions, wrapped: dict[str, dict[str, Any]]
) -> None:
    document = wrapped["commercial-licence.json"]
    requested = [["tradeName"], ["owner", "name"], ["activities", None, "code"]]
    paths = page.unrequested_paths(document["data"]["subject"], requested)
    assert sorted(paths) == [
        "subject.address",
        "subject.expiryDate",
        "subject.issueDate",
        "subject.legalForm",
        "subject.licenceNumber",
        "subject.owner.nationalId",
    ]
    subject = unsalt_data(obfuscate(document, paths)["data"]["subject"])
    assert subject == {
        "tradeName": {"en": "Pearl Coast Trading", "ar": "ساحل اللؤلؤ للتجارة"},
        "owner": {"name": {"en": "Mariam Al-Thani", "ar": "مريم آل ثاني"}},
        "activities": [{"code": "4690", "description": {"en": "Wholesale trade", "ar": "تجارة الجملة"}}],
    }  # a list is kept whole: OpenAttestation hides a list only whole


# --- values Hypothesis made ----------------------------------------------------------------------

ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأؤإئةى ٠١٢٣٤٥٦٧٨٩،؛؟ًٌٍَُِّْـ"
TYPE_WORDS = ["string", "number", "boolean", "null", "undefined", "STRING", "true", "false", "NaN", "1e+21", "-0", ""]

salts = st.uuids(version=4).map(str)

plain_texts = st.one_of(
    st.text(),
    st.text(alphabet=ARABIC + ":"),
    # Colons everywhere, and words that read like a salt's type or value.
    st.lists(st.one_of(st.sampled_from(TYPE_WORDS), st.text(max_size=3)), max_size=6).map(":".join),
)
# A value that is itself salted text: the core salts it again, and one layer only must come off.
salted_texts = st.tuples(salts, st.sampled_from(TYPE_WORDS), st.text(max_size=8)).map(":".join)

numbers = st.one_of(
    st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER),
    st.sampled_from([0, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 1e21, -1e21, 1e-7, 5e-324, 1.7976931348623157e308]),
    st.floats(allow_nan=False, allow_infinity=False),
)

keys = st.one_of(st.text(max_size=8), st.sampled_from(["", ":", "__proto__", "constructor", "0", "10", "en", "ar"]))


def json_values(texts: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """JSON values of any shape (empty objects and lists too) whose strings come from `texts`."""
    return st.recursive(
        st.one_of(st.none(), st.booleans(), numbers, texts),
        lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
        max_leaves=24,
    )


@settings(max_examples=scaled(400, 4000), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values(st.one_of(plain_texts, salted_texts)), data=st.data())
def test_the_page_unsalts_any_value_the_core_salts_as_the_core_does(
    page: PageFunctions, value: Any, data: st.DataObject
) -> None:
    salt: Callable[[], str] = lambda: data.draw(salts)  # noqa: E731 (the salts come from Hypothesis, to shrink)
    salted = salt_data(value, salt=salt)
    assert_read_alike(salted, page.unsalt(salted), unsalt_data(salted))


@settings(max_examples=scaled(200, 2000), deadline=None)
@given(value=json_values(plain_texts))
def test_the_page_leaves_values_that_are_not_salted_as_the_core_does(page: PageFunctions, value: Any) -> None:
    assert_read_alike(value, page.unsalt(value), unsalt_data(value))


SALT = "6f2c1c4e-5d1b-4c8a-9b7e-0a1b2c3d4e5f"
AGREED = ["string:", "string:a:b", f"string:{SALT}:number:1", "boolean:yes", "null:anything"]
AGREED += ["number:-0", "number:1e+21", "number: 12 ", "number:1.50", "number:Infinity", "number:NaN"]


@pytest.mark.parametrize(
    "text",
    [
        *(f"{SALT}:{rest}" for rest in AGREED),
        f"{SALT.upper()}:string:x",
        f"{SALT[:14]}3{SALT[15:]}:string:x",  # a version 3 UUID is no salt
        f"{SALT}string:x",
        # Text the core never writes: both leave it salted (or read it alike).
        f"{SALT}:STRING:x",
        f"{SALT}:undefined:x",
        f"{SALT}:null",
        f"{SALT}:number:",
        f"{SALT}:number:abc",
        f"{SALT}:number:0x10",
        f"{SALT}:number:1_000",
        f"{SALT}:number:inf",
        f"{SALT}:number:58350800096247510",  # beyond 2^53: both read the same double
        # Digits and spaces of other scripts: both leave them salted (the core once crashed on \x1f).
        f"{SALT}:number:\x1f1",
        f"{SALT}:number:\u0661\u0662",
        f"{SALT}:number:\uff11",
        f"{SALT}:number:\x851",
        f"{SALT}:number:\ufeff1",
        f"{SALT}:number:\u00a01",
    ],
)
def test_the_page_reads_salted_looking_text_as_the_core_does(page: PageFunctions, text: str) -> None:
    assert_read_alike(text, page.unsalt(text), unsalt_data(text))


@settings(max_examples=scaled(200, 2000), deadline=None)
@given(raw=st.binary(max_size=48))
def test_the_page_decodes_any_link_key_the_core_encodes(page: PageFunctions, raw: bytes) -> None:
    key = _b64url(raw)
    decoded = page.from_base64url(key)
    assert decoded == raw, f"the page decodes {key!r} to {decoded.hex()}, the core encoded {raw.hex()}"


@settings(max_examples=scaled(200, 2000), deadline=None)
@given(name=st.from_regex(r"[a-z][a-z0-9]{0,8}([-_ ][a-z0-9]{1,8}){0,3}", fullmatch=True))
def test_the_page_names_a_credential_type_as_the_core_does(page: PageFunctions, name: str) -> None:
    assert page.type_name(name) == type_name(name)


def test_the_page_names_each_example_type_as_the_core_does(page: PageFunctions) -> None:
    for example in EXAMPLES:
        kind = json.loads(example.read_text(encoding="utf-8"))["document_type"]
        assert page.type_name(kind) == type_name(kind)
