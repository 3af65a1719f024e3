"""A relying party's demo: a bank's business loan application that fills itself from verified documents.

A separate small web application, as a bank's would be: it knows Sijill only by its HTTP API and holds
its own relying-party key. `sijill up` serves it at /demo/loan in development. The flow:

1. "Fill from my documents" asks Sijill for a presentation request (a DCQL query for a commercial
   licence and, optionally, a degree; the bank's rules) and shows its QR code and consent link;
2. the holder consents on Sijill's page, which sends copies disclosing only the requested claims and
   brings the holder back here;
3. the bank collects the verified result once and fills the form, each value marked with its source
   agency and verdict, with its decision and the reason for each rule.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

COOKIE = "loan_request"
SUBJECT = "credentialSubject"
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)

LICENCE = [
    ("trade_name", "Trade name", [SUBJECT, "tradeName"]),
    ("licence_number", "Licence number", [SUBJECT, "licenceNumber"]),
    ("owner", "Owner", [SUBJECT, "owner", "name"]),
    ("address", "Business address", [SUBJECT, "address"]),
    ("activity", "Business activity", [SUBJECT, "activities"]),
]
DEGREE = [
    ("graduate", "Graduate", [SUBJECT, "graduate", "name"]),
    ("degree", "Degree", [SUBJECT, "degree"]),
    ("major", "Major", [SUBJECT, "major"]),
]
QUERY: dict[str, Any] = {
    "credentials": [
        {
            "id": "licence",
            "format": "ldp_vc",
            "require_cryptographic_holder_binding": False,
            "meta": {"type_values": [["CommercialLicence"]]},
            "claims": [{"path": path} for _, _, path in LICENCE],
        },
        {
            "id": "degree",
            "format": "ldp_vc",
            "require_cryptographic_holder_binding": False,
            "meta": {"type_values": [["AcademicCertificate"]]},
            "claims": [{"path": path} for _, _, path in DEGREE],
        },
    ],
    "credential_sets": [{"options": [["licence"]]}, {"options": [["degree"]], "required": False}],
}
RULES = [
    {"credential": "licence", "status": "VALID", "label": "The commercial licence is valid"},
    {"credential": "licence", "valid_for_days": 90, "label": "The licence stays valid for at least 90 days"},
    {
        "credential": "licence",
        "path": [SUBJECT, "activities", None, "code"],
        "in": ["4690", "4610", "4711"],
        "label": "The business trades in an activity the bank lends to",
    },
]
PURPOSE = {
    "en": "To fill in your business loan application with your verified licence and degree",
    "ar": "لتعبئة طلب القرض التجاري من رخصتك وشهادتك الموثّقتين",
}


def _text(value: Any) -> str:
    if isinstance(value, dict) and ("en" in value or "ar" in value):
        return str(value.get("en") or value.get("ar"))
    if isinstance(value, list):
        return "; ".join(_text(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_text(item)}" for key, item in value.items() if key != "description") or ""
    return "" if value is None else str(value)


def _activity(value: Any) -> str:
    items = value if isinstance(value, list) else []
    return "; ".join(
        f"{item.get('code')} {_text(item.get('description'))}".strip() for item in items if isinstance(item, dict)
    )


def _page(title: str, body: str) -> HTMLResponse:
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:0 auto;padding:1rem;color:#111827}}
label{{display:block;margin:.6rem 0 .2rem;font-weight:600}}input{{width:100%;padding:.45rem;font:inherit}}
.source{{color:#05603a;font-size:.85rem}}.button{{display:inline-block;background:#1e3a8a;color:#fff;padding:.6rem 1rem;
border:0;border-radius:.4rem;font:inherit;text-decoration:none;cursor:pointer}}.refer{{color:#8a4b00}}.approve{{color:#05603a}}
</style></head><body><h1>Pearl Bank · {html.escape(title)}</h1>{body}</body></html>"""
    return HTMLResponse(page, headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-store"})


def create_app(*, sijill_url: str, token: str, public_url: str) -> Starlette:
    """The demo bank, talking to Sijill at `sijill_url` with its relying-party `token`; served at `public_url`
    (the holder comes back to ``<public_url>/return``)."""
    headers = {"Authorization": f"Bearer {token}"}

    def form(values: dict[str, tuple[str, str]] | None = None, note: str = "") -> str:
        values = values or {}
        fields = []
        for name, label, _ in [*LICENCE, *DEGREE]:
            value, source = values.get(name, ("", ""))
            marker = f'<div class="source" id="{name}-source">{html.escape(source)}</div>' if source else ""
            field = f'<input id="{name}" name="{name}" value="{html.escape(value)}">'
            fields.append(f'<label for="{name}">{label}</label>{field}{marker}')
        return f"""{note}<form method="post" action="{public_url}/start">
<button class="button" type="submit" id="fill">Fill from my documents</button></form>
<form>{"".join(fields)}<label for="amount">Amount requested (QAR)</label><input id="amount" name="amount"></form>"""

    async def home(_request: Request) -> Response:
        return _page("Business loan application", form())

    async def start(_request: Request) -> Response:
        body = {"dcql_query": QUERY, "purpose": PURPOSE, "rules": RULES, "redirect_uri": f"{public_url}/return"}
        async with httpx.AsyncClient(timeout=30) as client:
            created = await client.post(f"{sijill_url}/v1/presentations", json=body, headers=headers)
        if created.status_code != 201:
            return _page(
                "Business loan application",
                form(note=f"<p>Sijill refused the request: {html.escape(created.text)}</p>"),
            )
        request = created.json()
        page = _page(
            "Share your documents",
            f"""<p>Scan this code with your phone, or open the link on this device. You will see what the bank asks
for and why, and choose whether to share it.</p><p><img alt="QR code of the request" src="{request["qr_code"]}"></p>
<p><a class="button" id="consent-link" href="{html.escape(request["consent_url"])}">Open the consent page</a></p>
<p><a href="{public_url}/return" id="check">I have answered: fill the form</a></p>""",
        )
        page.set_cookie(COOKIE, request["id"], httponly=True, samesite="lax", path=urlsplit(public_url).path or "/")
        return page

    async def back(request: Request) -> Response:
        request_id = request.cookies.get(COOKIE)
        if not request_id:
            return RedirectResponse(f"{public_url}/", status_code=303)
        # Back from the consent page on this device, the redirect carries the answer's response code: with
        # it, Sijill hands the result only to the browser that brought the answer.
        code = request.query_params.get("response_code")
        params = {"response_code": code} if code else {}
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.get(f"{sijill_url}/v1/presentations/{request_id}", headers=headers, params=params)
        if answer.status_code != 200:
            message = answer.json().get("error", {}).get("message", answer.text)
            return _page("Business loan application", form(note=f'<p id="outcome">{html.escape(message)}</p>'))
        state = answer.json()
        if state["status"] != "ANSWERED":
            refusals = "".join(f"<li>{html.escape(r['message'])}</li>" for r in state.get("refusals", []))
            note = f'<p id="outcome">The request is {state["status"].lower()}.</p><ul>{refusals}</ul>'
            return _page("Business loan application", form(note=note))
        result = state["result"]
        refused = "".join(
            f"<li>{html.escape(r['reason'])}: {html.escape(r['message'])}</li>" for r in state["refusals"]
        )
        seen = f'<p>Answers Sijill refused for this request:</p><ul id="refusals">{refused}</ul>' if refused else ""
        if not result["accepted"]:
            reasons = "".join(f"<li>{html.escape(reason)}</li>" for reason in result["reasons"])
            return _page(
                "Business loan application",
                form(note=f'<p id="outcome">Not accepted:</p><ul id="reasons">{reasons}</ul>{seen}'),
            )
        values: dict[str, tuple[str, str]] = {}
        for claim in result["claims"]:
            for name, _, path in [*LICENCE, *DEGREE]:
                if claim["path"] == path:
                    shown = _activity(claim["value"]) if name == "activity" else _text(claim["value"])
                    source = (
                        f"Verified: {claim['agency']['name']} · {claim['verdict']} · block {claim['anchor']['block']}"
                    )
                    values[name] = (shown, source)
        rules = "".join(
            f"<li>{'✓' if o['passed'] else '✗'} {html.escape(o['rule']['label'])}: {html.escape(o['reason'])}</li>"
            for o in result["rules"]
        )
        decision = result["decision"]
        verdict = "approve" if decision == "approve" else "refer to an officer"
        note = f'<p id="decision" class="{decision}">Decision: {verdict}</p><ul id="rules">{rules}</ul>{seen}'

        return _page("Business loan application", form(values, note))

    return Starlette(routes=[Route("/", home), Route("/start", start, methods=["POST"]), Route("/return", back)])
