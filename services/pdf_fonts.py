"""The documents' main face: WenQuanYi Micro Hei from the `paperang-p2-fonts-cjk` wheel, registered
with ReportLab and xhtml2pdf once per process.

Its own module so that services/pdf.py (rendering) and services/pdf_rare.py (the fallback face for
生僻字, which reads this face's cmap) both build on it without importing each other.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from xhtml2pdf import default as pisa_default

#: The family name templates use in CSS (`font-family: xuejicjk`).
CJK_FAMILY = "xuejicjk"
#: The ReportLab name of the face; the PDF's BaseFont is the font's own PostScript name.
CJK_FONT_NAME = "XuejiCJK"
#: The PostScript name of subfont 0 of wqy-microhei.ttc, as it appears in the PDF.
CJK_PDF_FONT_NAME = "WenQuanYiMicroHei"


class PdfRenderError(RuntimeError):
    """xhtml2pdf reported errors while converting a document."""


def font_path() -> Path:
    """The TrueType collection shipped by `paperang-p2-fonts-cjk`."""
    path = Path(str(resources.files("paperang_p2_fonts_cjk").joinpath("fonts", "wqy-microhei.ttc")))
    if not path.is_file():  # pragma: no cover - broken install
        raise PdfRenderError(f"CJK font missing: {path} (pip install paperang-p2-fonts-cjk)")
    return path


_font_lock = threading.Lock()
_font_registered = False


def register_main_font() -> None:
    """Register the CJK face with ReportLab and xhtml2pdf, once per process (~100 ms)."""
    global _font_registered
    if _font_registered:
        return
    with _font_lock:
        if _font_registered:
            return
        if CJK_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(CJK_FONT_NAME, str(font_path()), subfontIndex=0))
        # One face for every weight and style: the collection has no bold; xhtml2pdf
        # never synthesises one, so <b> prints in the regular face.
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(CJK_FONT_NAME, bold, italic, CJK_FONT_NAME)
        # Every pisaContext copies DEFAULT_FONT, so the family is known to each document
        # without an @font-face (which would hash and copy the 5 MB file per render).
        pisa_default.DEFAULT_FONT[CJK_FAMILY] = CJK_FONT_NAME
        pisa_default.DEFAULT_FONT[CJK_FONT_NAME.lower()] = CJK_FONT_NAME
        _font_registered = True


