"""services.pdf: Chinese PDFs with an embedded TrueType font, autoescaped templates and
locked-down resources. No app or database needed."""

from __future__ import annotations

import builtins
import io
import shutil
import socket
import subprocess
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace as NS

import jinja2
import pytest
from PIL import Image
from xhtml2pdf.config.resources import ResourceAccessError

from services import pdf

LONG_ADDRESS = "辽宁省沈阳市和平区南京北街幸福家园小区三期十八号楼二单元" * 2 + "一二三四五六七八九十十一十二"
assert len(LONG_ADDRESS) >= 60


def flat(text: str) -> str:
    """Extracted text without whitespace: cells wrap long values onto several lines."""
    return "".join(text.split())


def make_student(**overrides) -> NS:
    fields = dict(
        xjh="G210102201503150012",
        name="张小明",
        former_name=None,
        gender_label="男",
        birth_date=date(2015, 3, 15),
        birthplace="辽宁省沈阳市和平区",
        native_place="辽宁省大连市",
        ethnicity_label="汉族",
        nationality_label="中国",
        id_type_label="居民身份证",
        id_number="210102201503150012",
        overseas_label="否",
        health_label="健康或良好",
        hukou_location="辽宁省沈阳市和平区太原街道",
        hukou_type_label="非农业户口",
        grade_label="四年级",
        class_name="四年级（2）班",
        enroll_month="2021-09",
        enroll_mode_label="就近入学",
        attendance_mode_label="走读",
        current_address=LONG_ADDRESS,
        home_address="辽宁省沈阳市和平区太原北街12号",
        phone="13800000000",
        only_child=True,
        preschool=True,
        left_behind_label="非留守儿童",
        migrant_child=False,
        orphan=False,
        disability_label="无",
        school_name="沈阳市和平区第一小学",
        guardians=[
            NS(
                relation_label="父亲",
                name="张大伟",
                id_type_label="居民身份证",
                id_number="210102198501010011",
                phone="13900000001",
                workplace="沈阳市和平区某某科技有限公司",
            ),
            NS(
                relation_label="母亲",
                name="李丽",
                id_type_label="居民身份证",
                id_number="210102198702020022",
                phone="13900000002",
                workplace="沈阳市第一人民医院",
            ),
        ],
    )
    fields.update(overrides)
    return NS(**fields)


def make_doc() -> NS:
    return NS(number="XJT-2025-000123", verify_code="7K3QZP9M", printed_at=datetime(2025, 11, 28, 9, 30), printed_by="王老师")


def make_request() -> NS:
    # Deliberately not in print order: the form orders the blocks, not the list.
    steps = [
        NS(
            role_label="转出学校",
            unit_name="沈阳市和平区第一小学",
            decision_label="同意",
            decided_by="孙校长",
            decided_at=datetime(2025, 11, 24, 9, 0),
            comment=None,
        ),
        NS(
            role_label="转入学校",
            unit_name="大连市中山区实验小学",
            decision_label="同意",
            decided_by="刘主任",
            decided_at=datetime(2025, 11, 20, 10, 0),
            comment="同意接收",
        ),
        NS(
            role_label="转入学校主管教育行政部门",
            unit_name="大连市中山区教育局",
            decision_label="同意",
            decided_by="赵科长",
            decided_at=datetime(2025, 11, 21, 15, 0),
            comment="",
        ),
        # Matched by its ApprovalStep.role code when the label is not the Chinese heading.
        NS(
            role="sending_authority",
            role_label="Sending school's authority",
            unit_name="沈阳市和平区教育局",
            decision_label="同意",
            decided_by="周科长",
            decided_at=datetime(2025, 11, 25, 11, 0),
            comment=None,
        ),
    ]
    return NS(
        from_school_name="沈阳市和平区第一小学",
        to_school_name="大连市中山区实验小学",
        reason_label="随父母工作调动",
        reason_text="父亲工作调动至大连市，全家随迁。",
        created_at=datetime(2025, 11, 18, 8, 0),
        steps=steps,
    )


def test_student_info_pdf_has_chinese_text_and_embedded_font():
    data = pdf.render_pdf("student_info.html", student=make_student(), doc=make_doc())
    assert data.startswith(b"%PDF-")
    text = flat(pdf.extract_text(data))
    assert LONG_ADDRESS in text
    for expected in ("学生基本信息表", "张小明", "沈阳市和平区第一小学", "XJT-2025-000123", "7K3QZP9M", "学校（盖章）", "打印人"):
        assert expected in text
    fonts = pdf.embedded_fonts(data)
    assert pdf.CJK_PDF_FONT_NAME in fonts
    assert not any("STSong" in name for name in fonts)


def test_transfer_contact_form_lists_four_approvals_in_order():
    data = pdf.render_pdf("transfer_contact.html", student=make_student(), request=make_request(), doc=make_doc())
    text = flat(pdf.extract_text(data))
    assert "辽宁省义务教育阶段学生转学联系表" in text
    for expected in ("转出学校", "转入学校", "转学原因", "监护人签字", "大连市中山区实验小学", "刘主任", "赵科长", "孙校长"):
        assert expected in text
    headings = ["转入学校意见", "转入学校主管教育行政部门意见", "转出学校意见", "转出学校主管教育行政部门意见"]
    positions = [text.find(h) for h in headings]
    assert all(p >= 0 for p in positions), positions
    assert positions == sorted(positions)
    # Each step is printed in its own block, in form order whatever the list order.
    assert text.find("刘主任") < text.find("赵科长") < text.find("孙校长") < text.find("周科长")
    assert text.count("（盖章）") == 4
    assert pdf.CJK_PDF_FONT_NAME in pdf.embedded_fonts(data)

    # Before any decision the four blocks still print, blank, for hand entries.
    request = make_request()
    request.steps = []
    text = flat(pdf.extract_text(pdf.render_pdf("transfer_contact.html", student=make_student(), request=request, doc=make_doc())))
    assert [text.find(h) for h in headings] == sorted(text.find(h) for h in headings)
    assert min(text.find(h) for h in headings) >= 0
    assert text.count("（盖章）") == 4


def test_html_in_data_is_escaped_not_rendered():
    student = make_student(name="<b>x</b>", former_name='"><img src="/etc/passwd">')
    data = pdf.render_pdf("student_info.html", student=student, doc=make_doc())
    text = flat(pdf.extract_text(data))
    assert "<b>x</b>" in text
    assert flat('"><img src="/etc/passwd">') in text
    # The string renderer is autoescaped too.
    text = pdf.extract_text(pdf.render_pdf_from_string('<p style="font-family: xuejicjk">{{ v }}</p>', v="<i>y</i>"))
    assert "<i>y</i>" in text


def test_remote_and_local_file_resources_are_blocked(monkeypatch):
    opened: list[str] = []
    connected: list[object] = []
    callback_uris: list[str] = []

    real_open, real_io_open = builtins.open, io.open

    def spy_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def spy_io_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_io_open(file, *args, **kwargs)

    def no_network(*args, **kwargs):
        connected.append(args)
        raise OSError("network disabled in this test")

    real_callback = pdf.link_callback

    def spy_callback(uri, rel=None):
        callback_uris.append(uri)
        return real_callback(uri, rel)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_io_open)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(pdf, "link_callback", spy_callback)

    html = """<html><head><link rel="stylesheet" href="/etc/passwd">
      <style>body { font-family: xuejicjk; }</style></head><body>
      <p>资源测试 {{ who }}</p>
      <img src="http://127.0.0.1:9/x.png">
      <img src="file:///etc/passwd">
      <img src="/static/pdf/../../../config.py">
      </body></html>"""
    data = pdf.render_pdf_from_string(html, who="张小明")

    monkeypatch.undo()
    assert "资源测试 张小明" in pdf.extract_text(data)
    # The hostile URIs did reach the gate ...
    for uri in ("/etc/passwd", "http://127.0.0.1:9/x.png", "file:///etc/passwd"):
        assert uri in callback_uris
    # ... and nothing was read or fetched.
    assert not connected
    leaked = [p for p in opened if "passwd" in p or p.endswith("config.py")]
    assert not leaked, leaked

    # The callback maps only known prefixes inside static/pdf/; the policy is the second gate.
    assert pdf.link_callback("http://127.0.0.1:9/x.png") == pdf.BLOCKED_URI
    assert pdf.link_callback("file:///etc/passwd") == pdf.BLOCKED_URI
    assert pdf.link_callback("/static/pdf/../../config.py") == pdf.BLOCKED_URI
    assert pdf.link_callback("/static/pdf/.gitkeep") == str((pdf.ASSETS_DIR / ".gitkeep").resolve())
    policy = pdf.resource_policy()
    for url in ("http://127.0.0.1:9/x.png", "https://example.com/x.png"):
        with pytest.raises(ResourceAccessError):
            policy.check_url(url)
    for path in ("/etc/passwd", str(Path(pdf.__file__).resolve())):
        with pytest.raises(ResourceAccessError):
            policy.check_path(path)
    policy.check_path(pdf.ASSETS_DIR / ".gitkeep")
    policy.check_path(pdf.font_path())


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm missing: apt-get install poppler-utils")
def test_rendered_page_is_not_blank(tmp_path):
    data = pdf.render_pdf("student_info.html", student=make_student(), doc=make_doc())
    source = tmp_path / "student_info.pdf"
    source.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(source), str(tmp_path / "page")], check=True)
    (png,) = tmp_path.glob("page*.png")
    with Image.open(png) as image:
        gray = image.convert("L")
    width, height = gray.size
    assert 400 <= width <= 430 and 570 <= height <= 600  # A4 at 50 dpi
    share = sum(gray.histogram()[:128]) / (width * height)
    # Grid lines and text, not an empty page (nor a black one): about 5 % in practice.
    assert 0.02 < share < 0.3, share
    # The 60-character address wraps inside its cell: nothing is drawn in the right margin
    # (the tables end at 195 mm; the band checked starts at 198 mm).
    mm = width / 210
    margin = gray.crop((round(198 * mm), 0, width, height))
    assert sum(margin.histogram()[:128]) == 0


def test_conversion_failure_raises_a_clear_error():
    # The server policy caps nesting at 200 levels; xhtml2pdf's failure surfaces as ours.
    with pytest.raises(pdf.PdfRenderError, match="xhtml2pdf could not convert"):
        pdf.render_pdf_from_string("<div>" * 300 + "x" + "</div>" * 300)
    with pytest.raises(jinja2.UndefinedError):
        pdf.render_pdf("student_info.html", student=make_student())  # no `doc`


def test_every_document_draws_rare_characters_in_the_fallback_face(app):
    """生僻字 in any document (not only the cards): the name 刘䶮 (Extension A) and an address with 𠮷
    (Extension B) are set in the fallback face, embedded beside the main one; common text is not."""
    if not Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf").exists():
        pytest.skip("fonts-hanazono is not installed (make browser installs it)")
    with app.app_context():
        plain = pdf.render_pdf("student_info.html", student=make_student(), doc=make_doc())
        rare = pdf.render_pdf("student_info.html", student=make_student(name="刘䶮", birthplace="辽宁省沈阳市𠮷祥街"), doc=make_doc())
    assert not any(name.startswith("HanaMin") for name in pdf.embedded_fonts(plain))
    assert "HanaMinA" in pdf.embedded_fonts(rare)
    assert "刘" in pdf.extract_text(rare)
