"""Printable certificates and permits: a PDF that carries its own wrapped document.

The page shows the agency, the document's fields in English and Arabic (shaped and
right-to-left, with the Noto fonts the setup installs), the issue and expiry dates
and the QR code of the verification link. The wrapped document is embedded as a
file, so the PDF itself can be verified.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from ledger.documents.jsonsafe import loads
from ledger.documents.salt import unsalt_data
from ledger.errors import InvalidDocumentError

ATTACHMENT = "sijill-document.json"
_INK = (17, 24, 39)
_MUTED = (90, 98, 112)
_ACCENT = (11, 94, 84)


@functools.cache
def bold_font(source: Path, weight: float = 700.0) -> Path:
    """A static instance of the variable font `source` at `weight`, made once and kept on disk.

    fpdf2 instantiates a variable font for each document it is given to (about 9 s for Noto Sans and Noto
    Sans Arabic together): once per process, and a file shared by the next ones, a certificate costs its
    drawing only. The file's name carries the source's size and time, so a new font makes a new instance.
    """
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    stat = source.stat()
    folder = Path(tempfile.gettempdir()) / "sijill-fonts"
    target = folder / f"{source.stem}-wght{weight:g}-{stat.st_size}-{stat.st_mtime_ns}.ttf"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    font = TTFont(source)
    instancer.instantiateVariableFont(font, {"wght": weight}, inplace=True, static=True)  # as fpdf2 would
    partial = target.with_suffix(f".{os.getpid()}.part")
    font.save(partial)
    os.replace(partial, target)  # whole or absent: another process may be writing the same
    return target


def _font_file(package: str, pattern: str) -> Path:
    """A font file shipped by a `fontpkg-*` package from PyPI (installed by the setup)."""
    module = importlib.import_module(package)
    files = sorted(Path(str(module.__file__)).parent.glob(f"files/{pattern}"))
    if not files:
        raise FileNotFoundError(f"no font {pattern} in {package}")
    return files[0]


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What the certificate prints besides the document itself."""

    agency_name: str
    agency_name_ar: str | None
    title: str
    title_ar: str
    label: Callable[[str], tuple[str, str]]
    anchored_at: datetime | None
    expires_at: datetime | None
    verification_qr_png: bytes
    registry: str
    chain_id: int
    order: tuple[str, ...] = ()  # the type's layout: these fields first, in this order, then any other


def render_certificate(document: dict[str, Any], facts: CertificateFacts) -> bytes:
    """A one-page A4 PDF of `document` with the document embedded as ``sijill-document.json``."""
    data = unsalt_data(document["data"])
    pdf = FPDF(format="A4")
    pdf.set_title(f"{facts.title} - {facts.agency_name}")
    pdf.set_author(facts.agency_name)
    pdf.set_creator("Sijill")
    latin = _font_file("fontpkg_noto_sans", "NotoSans[[]wdth,wght[]].ttf")
    arabic = _font_file("fontpkg_noto_sans_arabic", "NotoSansArabic*.ttf")
    pdf.add_font("Noto", "", latin)
    pdf.add_font("Noto", "B", bold_font(latin))
    pdf.add_font("NotoArabic", "", arabic)
    pdf.add_font("NotoArabic", "B", bold_font(arabic))
    pdf.set_fallback_fonts(["NotoArabic"])
    pdf.set_text_shaping(True)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    # 1. Header: agency and document type, in both languages.
    pdf.set_text_color(*_ACCENT)
    pdf.set_font("Noto", "B", 15)
    pdf.cell(width / 2, 8, facts.agency_name)
    pdf.set_font("NotoArabic", "B", 15)
    pdf.cell(width / 2, 8, facts.agency_name_ar or "", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*_INK)
    pdf.set_font("Noto", "B", 20)
    pdf.cell(width / 2, 12, facts.title)
    pdf.set_font("NotoArabic", "B", 20)
    pdf.cell(width / 2, 12, facts.title_ar, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*_ACCENT)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y() + 2, pdf.l_margin + width, pdf.get_y() + 2)
    pdf.ln(6)

    # 2. The fields: English label and value on the left, Arabic on the right.
    subject = data.get("subject", {}) if isinstance(data.get("subject"), dict) else {}
    ordered = [name for name in facts.order if name in subject] + [name for name in subject if name not in facts.order]
    for field, value in ((name, subject[name]) for name in ordered):
        english_label, arabic_label = facts.label(field)
        english_value, arabic_value = _bilingual(value)
        y = pdf.get_y()
        pdf.set_text_color(*_MUTED)
        pdf.set_font("Noto", "", 8)
        pdf.cell(width / 2, 5, english_label.upper())
        pdf.set_font("NotoArabic", "", 9)
        pdf.cell(width / 2, 5, arabic_label, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*_INK)
        pdf.set_font("Noto", "", 11)
        pdf.multi_cell(width / 2 - 2, 6, english_value or "-", new_x="LMARGIN", new_y="NEXT")
        left_bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + width / 2 + 2, y + 5)
        pdf.set_font("NotoArabic", "", 11)
        pdf.multi_cell(width / 2 - 2, 6, arabic_value or english_value or "-", align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), left_bottom) + 2)

    # 3. Validity and the verification QR code, kept together on one page.
    if pdf.get_y() > pdf.h - 90:
        pdf.add_page()
    pdf.ln(2)
    top = pdf.get_y()
    pdf.set_font("Noto", "", 10)
    pdf.set_text_color(*_INK)
    issued = facts.anchored_at.strftime("%d %B %Y") if facts.anchored_at else "-"
    expires = facts.expires_at.strftime("%d %B %Y") if facts.expires_at else "no expiry"
    pdf.multi_cell(width - 50, 6, f"Issued on the ledger: {issued}\nValid until: {expires}", new_x="LMARGIN")
    pdf.set_font("NotoArabic", "", 10)
    issued_ar = arabic_date(facts.anchored_at) if facts.anchored_at else "-"
    expires_ar = arabic_date(facts.expires_at) if facts.expires_at else "بلا انتهاء"
    pdf.multi_cell(width - 50, 6, f"تاريخ التسجيل: {issued_ar}\nصالحة حتى: {expires_ar}", align="R", new_x="LMARGIN")
    pdf.image(io.BytesIO(facts.verification_qr_png), x=pdf.l_margin + width - 44, y=top, w=44, h=44)
    pdf.set_xy(pdf.l_margin + width - 50, top + 45)
    pdf.set_font("Noto", "", 8)
    pdf.cell(50, 4, "Scan to verify", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("NotoArabic", "", 8)
    pdf.cell(50, 4, "امسح للتحقق", align="C", new_x="LMARGIN", new_y="NEXT")

    # 4. Footer: where the document is anchored.
    pdf.set_y(-32)
    pdf.set_font("Noto", "", 7)
    pdf.set_text_color(*_MUTED)
    signature = document.get("signature", {})
    pdf.multi_cell(
        width,
        3.5,
        f"Document {signature.get('targetHash', '')}\nBatch root {signature.get('merkleRoot', '')}\n"
        f"Registry {facts.registry} on chain {facts.chain_id}. "
        f"This PDF carries the signed document as the attachment {ATTACHMENT}.",
    )
    pdf.embed_file(
        bytes=json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"),
        basename=ATTACHMENT,
        desc="The wrapped Sijill document (OpenAttestation v2)",
        mime_type="application/json",
    )
    return bytes(pdf.output())


_ARABIC_MONTHS = (
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
)
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def arabic_date(moment: datetime) -> str:
    """A date as Arabic readers write it: Arabic-Indic digits and the month's name."""
    return f"{moment.day} {_ARABIC_MONTHS[moment.month - 1]} {moment.year}".translate(_ARABIC_DIGITS)


def _humanize(key: str) -> str:
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in key).strip()
    return words[:1].upper() + words[1:]


def _bilingual(value: Any) -> tuple[str, str]:
    """A field value as (English, Arabic) text."""
    if isinstance(value, dict) and set(value) <= {"en", "ar"} and value:
        return str(value.get("en", "")), str(value.get("ar", ""))
    if isinstance(value, list):
        parts = [_bilingual(item) for item in value]
        return "\n".join(p[0] for p in parts if p[0]), "\n".join(p[1] for p in parts if p[1])
    if isinstance(value, dict):
        parts = [(f"{_humanize(key)}: {_bilingual(item)[0]}", _bilingual(item)[1]) for key, item in value.items()]
        return "\n".join(p[0] for p in parts), "\n".join(p[1] for p in parts if p[1])
    if value is None:
        return "-", ""
    return str(value), ""


def extract_document(pdf_bytes: bytes) -> dict[str, Any]:
    """The wrapped document embedded in a Sijill PDF. Raises `InvalidDocumentError`."""
    try:
        reader = PdfReader(io.BytesIO(pdf_bytes))
        contents = reader.attachments.get(ATTACHMENT)
        raw = contents[0] if contents else None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise InvalidDocumentError("the file is not a readable PDF") from error
    if not raw:
        raise InvalidDocumentError(f"the PDF carries no {ATTACHMENT}; it is not a Sijill document")
    document = loads(raw, what=f"the PDF's {ATTACHMENT}")
    if not isinstance(document, dict):
        raise InvalidDocumentError(f"the PDF's {ATTACHMENT} is not a wrapped document")
    return document
