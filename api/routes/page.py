"""The public verification page and its bundled assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.security import PAGE_POLICY

WEB = Path(__file__).resolve().parents[2] / "web"

SECURITY_HEADERS = {"Content-Security-Policy": PAGE_POLICY, "Permissions-Policy": "camera=(self)"}

router = APIRouter(tags=["verification page"])


@router.get("/verify", response_class=HTMLResponse, summary="The verification page")
def verify_page() -> HTMLResponse:
    """Opened from a QR code, or used to check a file or scan with the camera."""
    return HTMLResponse((WEB / "verify.html").read_text(encoding="utf-8"), headers=SECURITY_HEADERS)


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The service's front door is the verification page."""
    return RedirectResponse("/verify")


def static_files() -> StaticFiles:
    """The page's stylesheet and its script bundle (built by `make setup`)."""
    return StaticFiles(directory=WEB / "static", check_dir=False)
