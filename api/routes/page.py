"""The public pages (verification, and the holder's consent page) and their bundled assets, served from
`Settings.web_dir`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.deps import LedgerDep
from api.security import PAGE_POLICY
from ledger.errors import ConfigurationError
from ledger.usecases.context import Ledger

SECURITY_HEADERS = {"Content-Security-Policy": PAGE_POLICY, "Permissions-Policy": "camera=(self)"}

router = APIRouter(tags=["verification page"])


@router.get("/verify", response_class=HTMLResponse, summary="The verification page")
def verify_page(ledger: LedgerDep) -> HTMLResponse:
    """Opened from a QR code, or used to check a file or scan with the camera."""
    return _page(ledger, "verify.html")


def _page(ledger: Ledger, name: str) -> HTMLResponse:
    page = ledger.settings.web_dir / name
    try:
        html = page.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"no page {name} at {page.absolute()}; set SIJILL_WEB_DIR to the repository's web/ folder"
        ) from None
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/present", response_class=HTMLResponse, summary="The holder's consent page")
def present_page(ledger: LedgerDep) -> HTMLResponse:
    """Opened from a relying party's request (its QR code or link): who asks, why, and which details leave."""
    return _page(ledger, "present.html")


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The service's front door is the verification page."""
    return RedirectResponse("/verify")


def static_files(web_dir: Path) -> StaticFiles:
    """The page's stylesheet and its script bundle (built by `make setup`), from `web_dir`/static."""
    return StaticFiles(directory=web_dir / "static", check_dir=False)
