"""QR codes of verification links, sized to print and to scan with a phone."""

from __future__ import annotations

import io

import segno


def qr_png(text: str, *, scale: int = 6) -> bytes:
    """A PNG QR code of `text`: error correction M, a 4-module quiet zone."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m", boost_error=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_svg(text: str, *, scale: int = 4) -> bytes:
    """An SVG QR code of `text`, with a title for screen readers."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m", boost_error=False).save(
        buffer, kind="svg", scale=scale, border=4, title="Sijill verification link", xmldecl=False
    )
    return buffer.getvalue()
