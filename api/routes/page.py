"""The public verification page and its bundled assets, served from `Settings.web_dir`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.deps import LedgerDep
from api.security import PAGE_POLICY
from ledger.errors import ConfigurationError

SECURITY_HEADERS = {"Content-Security-Policy": PAGE_POLICY, "Permissions-Policy": "camera=(self)"}

router = APIRouter(tags=["verification page"])


@router.get("/verify", response_class=HTMLResponse, summary="The verification page")
def verify_page(ledger: LedgerDep) -> HTMLResponse:
    """Opened from a QR code, or used to check a file or scan with the camera."""
    page = ledger.settings.web_dir / "verify.html"
    try:
        html = page.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"no verification page at {page.absolute()}; set SIJILL_WEB_DIR to the repository's web/ folder"
        ) from None
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The service's front door is the verification page."""
    return RedirectResponse("/verify")


def static_files(web_dir: Path) -> StaticFiles:
    """The page's stylesheet and its script bundle (built by `make setup`), from `web_dir`/static."""
    return StaticFiles(directory=web_dir / "static", check_dir=False)
