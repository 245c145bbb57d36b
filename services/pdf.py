"""Printable documents: Jinja templates in templates/pdf/ rendered to PDF with xhtml2pdf.

Chinese text is drawn with WenQuanYi Micro Hei (TrueType collection from the PyPI package
`paperang-p2-fonts-cjk`), registered once per process and embedded as a subset in every
PDF. The built-in CID font STSong-Light is never used: it is not embedded.

Templates are untrusted as far as resources go (they print user-entered data): the
render runs under a ResourceAccessPolicy that forbids remote fetches and confines local
reads to static/pdf/ and the font directory, and a link_callback that maps every URI
other than the known asset prefixes to an empty `data:,` resource.

Template conveniences: autoescape is always on, undefined names raise, `None` prints as
an empty string, dates print as YYYY-MM-DD and datetimes as YYYY-MM-DD HH:MM, the `yn` filter
prints booleans as 是/否 and the `cn_date` filter prints a date as 2026年11月2日 (a blank
年 月 日 to fill in by hand when there is none).
"""

from __future__ import annotations

import functools
import io
import logging
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from pypdf import PdfReader
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from services import pdf_rare
from services.pdf_fonts import CJK_FAMILY, PdfRenderError, font_path
from services.pdf_fonts import CJK_FONT_NAME as CJK_FONT_NAME  # re-exported: the face's names, for callers and tests
from services.pdf_fonts import CJK_PDF_FONT_NAME as CJK_PDF_FONT_NAME
from services.pdf_fonts import register_main_font as _register_font

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = ROOT / "templates" / "pdf"
ASSETS_DIR = ROOT / "static" / "pdf"

#: URI prefixes a template may use for its own assets, all mapped into ASSETS_DIR.
ASSET_PREFIXES = ("/static/pdf/", "static/pdf/", "asset:")
#: Inline images (a verification QR code, say) pass unchanged: nothing is fetched, and the
#: policy bounds their decoded size and pixel count.
INLINE_PREFIXES = ("data:image/png;base64,", "data:image/jpeg;base64,")
#: What a refused URI becomes: an empty resource, never the original URL.
BLOCKED_URI = "data:,"


#: The four opinion blocks of the transfer contact form, in the order the form prints them:
#: (heading role, ApprovalStep.role code).
TRANSFER_APPROVAL_ROLES = (
    ("转入学校", "receiving_school"),
    ("转入学校主管教育行政部门", "receiving_authority"),
    ("转出学校", "sending_school"),
    ("转出学校主管教育行政部门", "sending_authority"),
)


def approval_blocks(steps: Any) -> list[tuple[str, Any]]:
    """The four (heading, step or None) pairs of the transfer contact form, in print order.

    A step fills a block when its optional `role` attribute is the block's code, or its
    `role_label` is the block's role with or without the trailing 意见. The latest matching
    step wins (a resubmitted request has several). Blocks without a step print empty, to be
    filled in by hand.
    """
    blocks: list[tuple[str, Any]] = []
    used: set[int] = set()
    for label, code in TRANSFER_APPROVAL_ROLES:
        found = None
        for index, step in enumerate(steps or ()):
            if getattr(step, "role", None) == code or str(getattr(step, "role_label", "")) in (label, label + "意见"):
                found = step
                used.add(index)
        blocks.append((label + "意见", found))
    for index, step in enumerate(steps or ()):
        if index not in used:
            log.warning("Transfer form: step %r matches no opinion block", getattr(step, "role_label", step))
    return blocks


@functools.cache
def resource_policy() -> ResourceAccessPolicy:
    """No network; local reads only under static/pdf/ and the font directory."""
    return ResourceAccessPolicy.server(
        ASSETS_DIR,
        allow_remote=False,
        extra_roots=(font_path().parent,),
        max_local_bytes=32 << 20,
    )


def link_callback(uri: str | Path, rel: str | None = None) -> str:
    """Map known asset prefixes into static/pdf/; everything else becomes `data:,`.

    Returning None would let xhtml2pdf fetch the original URI, so a refusal is an empty
    data URI. The policy is the second gate: it re-checks whatever this returns.
    """
    uri = str(uri)
    if uri.startswith(INLINE_PREFIXES):
        return uri
    for prefix in ASSET_PREFIXES:
        if uri.startswith(prefix):
            target = (ASSETS_DIR / uri[len(prefix) :]).resolve()
            if target.is_relative_to(ASSETS_DIR.resolve()) and target.is_file():
                return str(target)
            break
    log.warning("PDF resource refused: %.120r", uri)
    return BLOCKED_URI


def printable(value: Any) -> Any:
    """A value as every printed document shows it: nothing for None, dates YYYY-MM-DD, times to
    the minute, amounts with two decimals; anything else unchanged."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def _yes_no(value: Any) -> str:
    if value is None:
        return ""
    return "是" if value else "否"


#: What `cn_date` prints without a date: room to write one in by hand (no-break spaces:
#: xhtml2pdf collapses any other run of white space, U+3000 included, to one space).
BLANK_CN_DATE = "\xa0" * 10 + "年" + "\xa0" * 6 + "月" + "\xa0" * 6 + "日"


def _cn_date(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return BLANK_CN_DATE
    return f"{value.year}年{value.month}月{value.day}日"


def _shown(value: Any) -> Any:
    """Every `{{ … }}` of a document: printable(), and a text with characters outside the common CJK
    range (生僻字 such as 𠮷, 䶮 in a name, an address, a guardian's name) passes through
    services/pdf_rare.rare, which sets the runs the main face lacks in a fallback face. Done here, for
    every document at once, so that no template can forget it (Markup, already safe HTML, is left)."""
    shown = printable(value)
    if isinstance(shown, str) and not isinstance(shown, Markup) and any(ord(c) >= RARE_FROM for c in shown):
        return pdf_rare.rare(shown)
    return shown


#: Below this code point (Latin, digits, punctuation) the main face draws every character; from it on
#: (CJK), rare() looks each character up in the main face's cmap.
RARE_FROM = 0x2E80


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    finalize=_shown,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["yn"] = _yes_no
_env.filters["cn_date"] = _cn_date
_env.globals["CJK_FAMILY"] = CJK_FAMILY
_env.globals["approval_blocks"] = approval_blocks


def html_to_pdf(html: str) -> bytes:
    """Convert finished HTML to PDF under the locked-down resource policy."""
    _register_font()
    out = io.BytesIO()
    try:
        status = pisa.CreatePDF(
            html,
            dest=out,
            encoding="utf-8",
            link_callback=link_callback,
            resource_policy=resource_policy(),
        )
    except Exception as exc:  # xhtml2pdf raises whatever broke: parser, layout, limits
        raise PdfRenderError(f"xhtml2pdf could not convert the document: {type(exc).__name__}: {exc}") from exc
    if status.err:
        messages = "; ".join(str(entry[2]) for entry in status.log if entry[0] == "error")[:500]
        raise PdfRenderError(f"xhtml2pdf reported {status.err} error(s) converting the document: {messages}")
    return out.getvalue()


def render_pdf_from_string(source: str, **context: Any) -> bytes:
    """Render a Jinja template given as a string (autoescaped; may extend templates/pdf/)."""
    return html_to_pdf(_env.from_string(source).render(**context))


def render_pdf(template_name: str, **context: Any) -> bytes:
    """Render templates/pdf/<template_name> with `context` and return the PDF bytes."""
    return html_to_pdf(_env.get_template(template_name).render(**context))


# --- inspection helpers (tests, diagnostics) -------------------------------------------

#: `AAAAAA+WenQuanYiMicroHei-0`: subset tag, PostScript name, ReportLab's subset number.
_SUBSET_NAME = re.compile(r"^[A-Z]{6}\+(?P<name>.+?)(?:-\d+)?$")


def extract_text(pdf: bytes) -> str:
    """The text of every page, pages separated by newlines."""
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def embedded_fonts(pdf: bytes) -> set[str]:
    """Names of the fonts whose program is embedded (FontFile/FontFile2/FontFile3).

    Subset tags (`ABCDEF+` and ReportLab's `-0`, `-1`…) are stripped, so a document drawn
    in the CJK face yields {"WenQuanYiMicroHei"} however many 256-glyph subsets ReportLab
    split it into.
    """
    reader = PdfReader(io.BytesIO(pdf))
    names: set[str] = set()

    def visit(font: Any) -> None:
        font = font.get_object()
        descriptor = font.get("/FontDescriptor")
        if descriptor is not None:
            descriptor = descriptor.get_object()
            if any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                name = str(descriptor.get("/FontName") or font.get("/BaseFont") or "").lstrip("/")
                match = _SUBSET_NAME.match(name)
                names.add(match["name"] if match else name)
        for descendant in font.get("/DescendantFonts") or ():
            visit(descendant)

    for page in reader.pages:
        fonts = (page.get("/Resources") or {}).get("/Font") or {}
        for ref in fonts.get_object().values():
            visit(ref)
    return names
