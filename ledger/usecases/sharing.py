"""Verification links, QR codes and PDF certificates of issued documents, and verifying files."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from ledger.documents.jsonsafe import loads
from ledger.documents.salt import unsalt_data
from ledger.documents.share import REFERENCE, seal
from ledger.documents.share import link as share_link
from ledger.domain import ON_CHAIN, BatchState
from ledger.errors import ConflictError, DocumentNotFoundError, GoneError, InvalidDocumentError
from ledger.render.pdf import CertificateFacts, extract_document, render_certificate
from ledger.render.qr import qr_png, qr_svg
from ledger.store.models import BatchRow, DocumentRow
from ledger.usecases.actors import Actor, Scope
from ledger.usecases.agencies import require_agency
from ledger.usecases.context import Ledger
from ledger.usecases.issuance import reconcile_batch


def own_document(ledger: Ledger, actor: Actor, target_hash: str) -> tuple[BatchRow, DocumentRow]:
    """The anchored batch and the document, if `actor` issued it (or is the admin)."""
    batch, document = ledger.store.find(target_hash)
    if document is None:
        raise DocumentNotFoundError(f"{target_hash} is a batch root; documents are shared and erased one by one")
    actor.require_owner(Scope.ISSUE, batch.agency_id, target_hash)
    batch = reconcile_batch(ledger, batch)
    if batch.state == BatchState.PENDING:
        raise ConflictError(f"{target_hash} waits for its batch's anchor to be mined; ask again shortly")
    if batch.state not in ON_CHAIN:
        raise DocumentNotFoundError(f"{target_hash} was not issued: its batch is {batch.state}")
    return batch, document


def erased_error(target_hash: str) -> GoneError:
    return GoneError(
        f"the service's copy of {target_hash} was erased at the issuing agency's request; "
        "the holder's copy still verifies"
    )


def _content(document: DocumentRow) -> dict[str, Any]:
    if not document.wrapped:
        raise erased_error(document.target_hash)
    return document.wrapped


def erase_document(ledger: Ledger, actor: Actor, target_hash: str) -> bool:
    """Erase the service's copy of a document: its content, its salts and its shared link.

    What stays is what the chain holds anyway: the target hash, the proof and the status,
    none of which can be linked back to the person without the salts. The holder's copy
    still verifies, and the agency can still revoke it. Returns False when it was erased
    already. Raises `PermissionDeniedError`, `DocumentNotFoundError`, and `ConflictError`
    while the document waits for its batch.
    """
    if ledger.queue.get(target_hash) is not None:
        raise ConflictError(f"{target_hash} waits for its batch; erase it once it is anchored")
    _batch, document = own_document(ledger, actor, target_hash)
    if not document.wrapped:
        return False
    return ledger.store.erase_document(target_hash, seal(document.wrapped).reference)


def wrapped_document(ledger: Ledger, actor: Actor, target_hash: str) -> dict[str, Any]:
    """The wrapped document to hand its holder, for the agency that issued it (or the admin).

    Raises `PermissionDeniedError`, `DocumentNotFoundError`, and `ConflictError` while the
    document waits for its batch (it has no proof yet).
    """
    queued = ledger.queue.get(target_hash)
    if queued is not None:
        actor.require_owner(Scope.ISSUE, queued.agency_id, target_hash)
        raise ConflictError(f"{target_hash} is accepted and waits for its batch; it has no proof yet")
    _batch, document = own_document(ledger, actor, target_hash)
    return _content(document)


def _link(ledger: Ledger, document: DocumentRow) -> str:
    """Seal the document, keep the sealed copy for the page, and return its link."""
    sealed = seal(_content(document))
    if not ledger.store.put_share(sealed.reference, sealed.blob, target_hash=document.target_hash):
        raise erased_error(document.target_hash)  # erased between the read and the copy: nothing is kept
    network = ledger.network
    return share_link(
        ledger.settings.public_base_url, chain_id=network.chain_id, registry=network.registry, sealed=sealed
    )


def verification_link(ledger: Ledger, actor: Actor, target_hash: str) -> str:
    """The verification link of an issued document, its sealed copy kept for the page to fetch.

    The issuing agency (or the admin) may ask: the link opens the document.
    """
    _batch, document = own_document(ledger, actor, target_hash)
    return _link(ledger, document)


def verification_qr(ledger: Ledger, actor: Actor, target_hash: str, kind: str) -> bytes:
    """The QR code (``png`` or ``svg``) of a document's verification link."""
    text = verification_link(ledger, actor, target_hash)
    return qr_png(text) if kind == "png" else qr_svg(text)


def sealed_share(ledger: Ledger, reference: str) -> str:
    """The sealed blob behind a link's reference, base64. Raises `DocumentNotFoundError`."""
    blob = ledger.store.get_share(reference) if REFERENCE.match(reference) else None
    if blob is None:
        raise DocumentNotFoundError("no shared document has this reference; the link may be mistyped")
    return base64.b64encode(blob).decode("ascii")


def certificate_pdf(ledger: Ledger, actor: Actor, target_hash: str) -> bytes:
    """The printable PDF of an issued document, carrying the document and its QR code."""
    batch, document = own_document(ledger, actor, target_hash)
    agency = require_agency(ledger, batch.agency_id)
    content = _content(document)
    kind = ledger.catalog.get(document.document_type, issued_version(content))
    facts = CertificateFacts(
        agency_name=agency.name,
        agency_name_ar=agency.name_ar,
        title=kind.title,
        title_ar=kind.title_ar,
        label=kind.label,
        anchored_at=datetime.fromtimestamp(batch.anchored_at, UTC) if batch.anchored_at else None,
        expires_at=datetime.fromtimestamp(batch.expires_at, UTC) if batch.expires_at else None,
        verification_qr_png=qr_png(_link(ledger, document)),
        registry=ledger.network.registry,
        chain_id=ledger.network.chain_id,
        order=kind.definition.layout,
    )
    return render_certificate(content, facts)


def issued_version(document: dict[str, Any]) -> int | None:
    """The version of its type a wrapped document was issued under (None: one issued before types were
    registered, shown with the latest)."""
    sijill = document.get("data", {}).get("sijill")
    binding = unsalt_data(sijill).get("documentType") if isinstance(sijill, dict) else None
    version = binding.get("version") if isinstance(binding, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def read_document_file(content: bytes) -> dict[str, Any]:
    """The wrapped document in a JSON file or a Sijill PDF. Raises `InvalidDocumentError`."""
    if content.startswith(b"%PDF-"):
        return extract_document(content)
    loaded = loads(content, what="the file (neither a Sijill PDF nor a JSON document)")
    if not isinstance(loaded, dict):
        raise InvalidDocumentError("the file holds JSON, but not a wrapped document")
    return loaded
