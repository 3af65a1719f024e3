"""Public verification and selective disclosure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import AuditorDep, LedgerDep, PublicLimit
from api.schemas import AnchorQueryBody, ObfuscateBody
from ledger.documents.wrap import obfuscate
from ledger.errors import NotFoundError, PayloadTooLargeError
from ledger.usecases.audit import audit_dir
from ledger.usecases.sharing import sealed_share
from ledger.usecases.verify import verify_anchor
from ledger.usecases.verify_credential import verify_credential_anchor, verify_file, verify_submission

router = APIRouter(prefix="/v1", tags=["verification"])

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused past `limit` bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the file is larger than {limit // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/verify", summary="Verify a wrapped document or a credential", dependencies=[PublicLimit])
def verify(
    ledger: LedgerDep,
    document: Annotated[
        dict[str, Any],
        Body(description="A wrapped Sijill document, or a Sijill credential (full or derived)"),
    ],
) -> dict[str, Any]:
    """The verdict (VALID, REVOKED, SUSPENDED, EXPIRED, TAMPERED, NOT_ISSUED, UNKNOWN_ISSUER) and every check."""
    return verify_submission(ledger, document).as_dict()


@router.post(
    "/verify/anchor",
    summary="Verify a document by its hashes and issuer claims alone (no field leaves the browser)",
    dependencies=[PublicLimit],
)
def verify_by_anchor(ledger: LedgerDep, body: AnchorQueryBody) -> dict[str, Any]:
    """What the verification page asks: the chain's verdict on (target hash, root), by the proof and the
    issuer the document names. The page checks in the browser that the content hashes to the target hash."""
    claims = body.model_dump(exclude={"target_hash", "merkle_root", "proof"})
    return verify_anchor(ledger, body.target_hash, body.merkle_root, body.proof, claims).as_dict()


@router.post(
    "/verify/credential-anchor",
    summary="Verify a credential whose proof the caller checked, sent without its claims",
    dependencies=[PublicLimit],
)
def verify_credential_by_anchor(
    ledger: LedgerDep,
    credential: Annotated[
        dict[str, Any],
        Body(embed=True, description="The credential without credentialSubject and without proof.proofValue"),
    ],
) -> dict[str, Any]:
    """What the verification page asks of a credential: the chain's verdict on its anchor, its key and its
    status, once the page has checked the ecdsa-sd-2023 proof in the browser."""
    return verify_credential_anchor(ledger, credential).as_dict()


@router.post(
    "/verify/file",
    summary="Verify an uploaded file: a wrapped JSON document or a Sijill PDF",
    dependencies=[PublicLimit],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def verify_upload(request: Request, ledger: LedgerDep) -> dict[str, Any]:
    """The verdict and the wrapped document the file carried (for the page to show its fields)."""
    content = await read_limited(request, MAX_UPLOAD_BYTES)
    checked = await run_in_threadpool(verify_file, ledger, content)
    return {"result": checked.result.as_dict(), "document": checked.document}


@router.get(
    "/shares/{reference}", summary="A sealed shared document, for the verification page", dependencies=[PublicLimit]
)
def shared(reference: str, ledger: LedgerDep) -> dict[str, str]:
    """The encrypted document behind a link's reference; only the key in the link's fragment opens it."""
    return {"blob": sealed_share(ledger, reference)}


@router.get("/audit/latest", summary="The latest audit report (read-only)")
def latest_audit(_auditor: AuditorDep, ledger: LedgerDep) -> Response:
    """The report of the last `sijill audit run` on this installation's audit folder."""
    path = audit_dir(ledger) / "latest-report.json"
    if not path.exists():
        raise NotFoundError("no audit has run yet; run `sijill audit run`")
    return Response(path.read_bytes(), media_type="application/json")


@router.get("/network", summary="The chain and registry this service trusts")
def network(ledger: LedgerDep) -> dict[str, Any]:
    """A link or document naming another chain or registry is refused."""
    return {"chain_id": ledger.network.chain_id, "registry": ledger.network.registry}


@router.post("/obfuscate", summary="Hide fields of a wrapped document", dependencies=[PublicLimit])
def hide_fields(body: ObfuscateBody) -> dict[str, Any]:
    """The same document with the given fields hidden; it still verifies."""
    return obfuscate(body.document, body.fields)
