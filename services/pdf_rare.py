"""Rare characters (生僻字) in printed documents: 𠮷, 㛃, 䶮 … in the names and addresses of pupils.

The documents' face (WenQuanYi Micro Hei, services/pdf_fonts.py) covers the common characters only:
CJK Extension A and B come out blank, and xhtml2pdf has no per-glyph fallback. `rare()` wraps each
run of characters the face lacks in a span of a fallback face that has them: the Hanazono Mincho
fonts (花園明朝 A and B, TrueType, Debian package fonts-hanazono; the Makefile installs it with the
other Debian packages), or the files named by the config value PDF_RARE_FONTS. Without a fallback
the text is printed as before and a warning is logged once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from flask import current_app, has_app_context
from markupsafe import Markup, escape
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from xhtml2pdf import default as pisa_default

from services import pdf_fonts

log = logging.getLogger(__name__)

DEFAULT_FONTS = (
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",  # BMP and Extension A, much of Extension B
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",  # the rest of Extensions B–F
)
FAMILY = "xuejirare"  # the CSS family of the first fallback; the next ones add 2, 3, …

_lock = threading.Lock()
_faces: list[tuple[str, frozenset[int]]] | None = None  # (CSS family, code points) per fallback face
_main: frozenset[int] | None = None


def _paths() -> Sequence[str]:
    configured = current_app.config.get("PDF_RARE_FONTS") if has_app_context() else None
    return tuple(configured) if configured else DEFAULT_FONTS


def _load() -> tuple[frozenset[int], list[tuple[str, frozenset[int]]]]:
    """The main face's code points and the fallback faces, registered once per process."""
    global _faces, _main
    if _faces is not None and _main is not None:
        return _main, _faces
    with _lock:
        if _faces is None or _main is None:
            pdf_fonts.register_main_font()  # the main face must exist to read its cmap
            main = frozenset(pdfmetrics.getFont(pdf_fonts.CJK_FONT_NAME).face.charToGlyph)
            faces: list[tuple[str, frozenset[int]]] = []
            for index, path in enumerate(p for p in _paths() if Path(p).is_file()):
                family = FAMILY if index == 0 else f"{FAMILY}{index + 1}"
                name = f"XuejiRare{index + 1}"
                if name not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(TTFont(name, path))
                    for bold in (0, 1):
                        for italic in (0, 1):
                            addMapping(name, bold, italic, name)
                pisa_default.DEFAULT_FONT[family] = name
                faces.append((family, frozenset(pdfmetrics.getFont(name).face.charToGlyph)))
            if not faces:
                log.warning("No font for rare characters (%s): they print blank. Install fonts-hanazono.", ", ".join(_paths()))
            _main, _faces = main, faces
    return _main, _faces  # type: ignore[return-value]


def _family(char: str, main: frozenset[int], faces: list[tuple[str, frozenset[int]]]) -> str | None:
    code = ord(char)
    if code in main or code < 0x2E80:  # Latin, digits and punctuation: the main face draws them
        return None
    for family, points in faces:
        if code in points:
            return family
    return None


def rare(value: object) -> Markup:
    """The text escaped, with each run of characters the main face lacks in a fallback face's span."""
    text = "" if value is None else str(value)  # texts: every document's other values are formatted by pdf.printable
    main, faces = _load()
    if not faces or all(ord(c) in main or ord(c) < 0x2E80 for c in text):
        return escape(text)
    out: list[str] = []
    run: list[str] = []
    current: str | None = None
    for char in text + "\0":
        family = _family(char, main, faces) if char != "\0" else None
        if (family != current or char == "\0") and run:
            chunk = escape("".join(run))
            out.append(f'<span style="font-family: {current};">{chunk}</span>' if current else str(chunk))
            run = []
        current = family
        if char != "\0":
            run.append(char)
    return Markup("".join(out))
