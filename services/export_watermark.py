"""The watermark line of an approved export (第二十八条; issue 13, point 2): requester, unit, time and
request number, on the file whatever its type. XLSX: a first row on each sheet; CSV: a first line;
PDF: a header and a footer on every page. services/export_requests.py calls it once the file is made.
"""

from __future__ import annotations

import io

from services.errors import RuleViolation


def watermark(body: bytes, mimetype: str, banner: str) -> tuple[bytes, int | None]:
    """The file with its watermark line, and how many data rows (XLSX, CSV) or pages (PDF) it has."""
    if mimetype.startswith("application/vnd.openxmlformats-officedocument.spreadsheetml"):
        return _xlsx(body, banner)
    if mimetype.startswith("text/csv"):
        text = body.decode("utf-8-sig")
        from services.exports import csv_bytes

        line = csv_bytes([[banner]]).decode("utf-8-sig")
        rows = max(text.count("\n") - 1, 0)
        return ("\ufeff" + line + text).encode("utf-8"), rows
    if mimetype == "application/pdf":
        return _pdf(body, banner)
    raise RuleViolation("此类文件不能加注水印。")


def _xlsx(body: bytes, banner: str) -> tuple[bytes, int]:
    from openpyxl import load_workbook
    from openpyxl.styles import Font

    wb = load_workbook(io.BytesIO(body))
    rows = 0
    for ws in wb.worksheets:
        rows += max(ws.max_row - 1, 0)
        ws.insert_rows(1)
        cell = ws.cell(row=1, column=1, value=banner)
        cell.data_type = "s"
        cell.font = Font(bold=True, color="C00000")
        # The headers are now row 2: keep them (and the watermark above them) in view when scrolling.
        ws.freeze_panes = "A3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), rows


def _pdf(body: bytes, banner: str) -> tuple[bytes, int]:
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    from services import pdf as pdf_service

    pdf_service._register_font()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(body)))
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        stamp = io.BytesIO()
        c = canvas.Canvas(stamp, pagesize=(width, height))
        c.setFont(pdf_service.CJK_FONT_NAME, 7)
        c.setFillColorRGB(0.75, 0, 0)
        c.drawString(18, height - 12, banner)
        c.drawString(18, 6, banner)
        c.save()
        page.merge_page(PdfReader(io.BytesIO(stamp.getvalue())).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages)
