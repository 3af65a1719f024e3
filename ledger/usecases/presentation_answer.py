"""A holder's answer to a presentation request (OpenID4VP ``direct_post``): checked, verified against
the chain, held to the DCQL query and the party's rules, and kept for the party to collect once.

What is refused, and how:
- an answer that cannot be one of this request's (unknown request, expired, answered already, another
  request's `state`, a `vp_token` that is not an object of the query's ids): a 4xx to the sender, and a
  note (reason and time, no claim) on the request for the relying party to see;
- an answer of this request that does not hold (a document that is not Sijill's or not VALID, of
  another type, a required claim hidden, the query not met): the request is answered, refused, with the
  reason for each part; the party's result then carries verdicts, never claims.
A chain that cannot be read is a 503 and changes nothing: the holder may send the answer again.
Claims the holder disclosed beyond the query are not passed on; the result names their paths.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.documents.salt import unsalt_data
from ledger.documents.wrap import WrappedDocument
from ledger.domain import PresentationState
from ledger.errors import ConflictError, GoneError, InvalidRequestError, NotFoundError
from ledger.openid4vp.dcql import (
    CredentialQuery,
    Match,
    Path,
    Presented,
    answer_holds,
    match,
    parse_query,
    path_text,
)
from ledger.openid4vp.rules import Evidence, Rule, evaluate, parse_rules
from ledger.store.models import PresentationRequestRow
from ledger.usecases.context import Ledger
from ledger.usecases.verify_credential import is_credential, verify_submission
from ledger.vc.credential import type_name
from ledger.verification import VerificationResult, VerificationStatus

_MAX_PRESENTATIONS = 16


@dataclass(frozen=True, slots=True)
class Answer:
    """What the holder's page is told: whether the answer was accepted, why not, and where to go next."""

    accepted: bool
    reasons: tuple[str, ...]
    redirect_uri: str | None

    def as_dict(self) -> dict[str, Any]:
        """The response endpoint's JSON."""
        answer: dict[str, Any] = {"accepted": self.accepted, "reasons": list(self.reasons)}
        if self.redirect_uri:
            answer["redirect_uri"] = self.redirect_uri
        return answer


@dataclass(frozen=True, slots=True)
class _Checked:
    query_id: str
    result: VerificationResult
    presented: Presented
    document_type: str | None
    valid_from: str | None
    valid_until: str | None
    match: Match
    discarded: tuple[str, ...]


_NOTE_LENGTH = 300


def _refuse_sender(ledger: Ledger, row: PresentationRequestRow, error: Exception, reason: str) -> Exception:
    """Note a refused answer on its request (the reason and a short message: never a claim) and give back the
    error for the sender."""
    text = str(error).encode("utf-8", "replace").decode("utf-8")[:_NOTE_LENGTH]
    ledger.presentations.refuse(row.id, {"reason": reason, "message": text, "at": ledger.clock().isoformat()})
    return error


def _tokens(vp_token: Any, ids: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(vp_token, Mapping) or not vp_token:
        raise InvalidRequestError("vp_token must be a JSON object of the query's credential ids", field="vp_token")
    presented = []
    for query_id, items in vp_token.items():
        if query_id not in ids:
            raise InvalidRequestError(
                f"vp_token names {str(query_id)[:40]!r}, which the request did not ask for", field="vp_token"
            )
        for item in items if isinstance(items, list) else [items]:
            if not isinstance(item, dict):
                raise InvalidRequestError(
                    f"vp_token['{query_id}'] must hold documents (JSON objects)", field="vp_token"
                )
            presented.append((str(query_id), item))
    if len(presented) > _MAX_PRESENTATIONS:
        raise InvalidRequestError(f"at most {_MAX_PRESENTATIONS} documents in one answer", field="vp_token")
    return presented


def read_presented(document: Mapping[str, Any], catalog_names: list[str]) -> tuple[Presented, str | None]:
    """What a DCQL query is held against: a credential as it is; a wrapped document as the credential it
    stands for (its ``subject``, the fields, as ``credentialSubject``). And the document type, among
    `catalog_names`."""
    if is_credential(document):
        raw = document.get("type")
        types = tuple(str(t) for t in (raw if isinstance(raw, list) else [raw]))
        kind = next((name for name in catalog_names if type_name(name) in types), None)
        return Presented(types=types, claims=document), kind
    data = unsalt_data(WrappedDocument.parse(document).data)
    assert isinstance(data, dict)
    kind = data.get("documentType") if isinstance(data.get("documentType"), str) else None
    types = ("VerifiableCredential", type_name(kind)) if kind else ("VerifiableCredential",)
    subject = data.get("subject") if isinstance(data.get("subject"), dict) else {}
    claims: dict[str, Any] = {"type": list(types), "credentialSubject": subject}
    if isinstance(data.get("validUntil"), str):
        claims["validUntil"] = data["validUntil"]
    return Presented(types=types, claims=claims), kind


def _leaves(value: Any, path: Path) -> Iterator[Path]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, str(key)))
    elif isinstance(value, list) and value:
        for item in value:
            yield from _leaves(item, (*path, None))
    else:
        yield path


def _covered(leaf: Path, asked: list[Path]) -> bool:
    def prefix(wanted: Path) -> bool:
        if len(wanted) > len(leaf):
            return False
        return all(
            w == got or (got is None and (w is None or isinstance(w, int)))
            for w, got in zip(wanted, leaf, strict=False)
        )

    return any(prefix(wanted) for wanted in asked)


def _discarded(presented: Presented, query: CredentialQuery) -> tuple[str, ...]:
    """The subject's claims the holder showed but the query did not ask for (paths only)."""
    asked = [claim.path for claim in query.claims]
    subject = presented.claims.get("credentialSubject")
    leaves = _leaves(subject, ("credentialSubject",)) if isinstance(subject, Mapping) else iter(())
    return tuple(sorted({path_text(leaf) for leaf in leaves if not _covered(leaf, asked)}))


def _check(name: str, result: VerificationResult) -> Mapping[str, Any]:
    return next((check.evidence for check in result.checks if check.name == name), {})


def _checked(ledger: Ledger, query: CredentialQuery, document: dict[str, Any]) -> _Checked:
    result = verify_submission(ledger, document)
    presented, kind = read_presented(document, ledger.catalog.names)
    anchor = result.anchor or {}
    valid_from = document.get("validFrom") if is_credential(document) else anchor.get("anchored_at")
    return _Checked(
        query_id=query.id,
        result=result,
        presented=presented,
        document_type=kind,
        valid_from=valid_from if isinstance(valid_from, str) else None,
        valid_until=_check("not_expired", result).get("expires_at"),
        match=match(query, presented),
        discarded=_discarded(presented, query),
    )


def _document_record(checked: _Checked) -> dict[str, Any]:
    result, anchor, issuer = checked.result, checked.result.anchor or {}, checked.result.issuer or {}
    return {
        "credential": checked.query_id,
        "document_type": checked.document_type,
        "verdict": result.status.value,
        "summary": result.summary,
        "agency": {"id": issuer.get("agency_id"), "name": issuer.get("name")},
        "valid_from": checked.valid_from,
        "valid_until": checked.valid_until,
        "anchor": {"block": anchor.get("block_number"), "transaction": anchor.get("transaction")},
        "target_hash": result.target_hash,
        "discarded": list(checked.discarded),
    }


def _claim_records(checked: _Checked) -> list[dict[str, Any]]:
    document = _document_record(checked)
    shared = {
        key: document[key]
        for key in ("credential", "document_type", "agency", "verdict", "valid_from", "valid_until", "anchor")
    }
    return [{"path": list(path), **shared, "value": value} for path, value in checked.match.claims]


def _verdict_problem(checked: _Checked) -> list[str]:
    if checked.result.status is VerificationStatus.VALID:
        return []
    who = f"the document given for '{checked.query_id}'"
    return [f"{who} is {checked.result.status.value}: {checked.result.summary}"]


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _verified_result(
    ledger: Ledger, row: PresentationRequestRow, presented: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    query = parse_query(row.query)
    rules: tuple[Rule, ...] = parse_rules(row.rules, query) if row.rules else ()
    checked: list[_Checked] = []
    reasons: list[str] = []
    for query_id, document in presented:
        try:
            checked.append(_checked(ledger, query.credential(query_id), document))
        except InvalidRequestError as error:  # not a Sijill document at all: no verdict to give
            reasons.append(f"the document given for '{query_id}' is not a Sijill document: {error.message}")
    for item in checked:
        reasons.extend(_verdict_problem(item))
    # The query, held against the documents that are VALID (one that is not is a reason already).
    holds, problems, unmet = answer_holds(query, [item.match for item in checked if not _verdict_problem(item)])
    reasons.extend(problems)
    if not reasons:
        reasons.extend(unmet)
    accepted = holds and not reasons
    now = ledger.clock()
    result: dict[str, Any] = {
        "request_id": row.id,
        "relying_party": row.relying_party_id,
        "answered_at": now.isoformat(),
        "accepted": accepted,
        "satisfied": holds,
        "reasons": reasons,
        "documents": [_document_record(item) for item in checked],
        "claims": [claim for item in checked for claim in _claim_records(item)] if accepted else [],
    }
    if accepted:
        evidence: dict[str, list[Evidence]] = {}
        for item in checked:
            found = Evidence(item.result.status.value, _time(item.valid_until), item.presented.claims)
            evidence.setdefault(item.query_id, []).append(found)
        decision, outcomes = evaluate(rules, evidence, now)
        result["decision"] = decision.value
        result["rules"] = [{"rule": o.rule.as_json(), "passed": o.passed, "reason": o.reason} for o in outcomes]
    else:
        result["decision"] = None
        result["rules"] = []
    return result


def answer_request(ledger: Ledger, request_id: str, *, state: Any, vp_token: Any) -> Answer:
    """Take a holder's answer to request `request_id` (see the module's notes).

    Raises `NotFoundError` for an unknown request, `GoneError` for an expired one, `ConflictError` for one
    answered already (a replay), `InvalidRequestError` for another request's state or a malformed
    `vp_token`, and the chain's errors (`ChainUnavailableError`, ...) as verification does.
    """
    row = ledger.presentations.request(request_id)
    if row is None:
        raise NotFoundError("no such presentation request: check the link or ask the service for a new one")
    if row.status != PresentationState.PENDING.value:
        raise _refuse_sender(
            ledger, row, ConflictError("this request was answered already; an answer is taken once"), "replayed"
        )
    if ledger.clock() >= row.expires_at:
        raise _refuse_sender(ledger, row, GoneError(f"this request expired at {row.expires_at.isoformat()}"), "expired")
    if not isinstance(state, str) or not hmac.compare_digest(state.encode(), row.state.encode()):
        error = InvalidRequestError(
            "the state is not this request's: the answer belongs to another request", field="state"
        )
        raise _refuse_sender(ledger, row, error, "another request's state")
    try:
        presented = _tokens(vp_token, parse_query(row.query).ids())
    except InvalidRequestError as error:
        raise _refuse_sender(ledger, row, error, "malformed vp_token") from None
    result = _verified_result(ledger, row, presented)
    # The redirect carries a one-time code that the relying party may require to collect the result, so
    # that a result reaches only the session whose browser brought the answer (OpenID4VP 1.0, 8.2).
    code = secrets.token_urlsafe(16) if row.redirect_uri else None
    if not ledger.presentations.answer(row.id, result, ledger.clock(), code):  # another answer came first
        raise _refuse_sender(
            ledger, row, ConflictError("this request was answered already; an answer is taken once"), "replayed"
        )
    redirect = None
    if row.redirect_uri and code:
        redirect = f"{row.redirect_uri}{'&' if '?' in row.redirect_uri else '?'}response_code={code}"
    return Answer(accepted=result["accepted"], reasons=tuple(result["reasons"]), redirect_uri=redirect)
