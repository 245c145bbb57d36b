"""End-of-year operations on the province's calendar (第十二条), with dry runs; certificate and roster
numbers carry the graduating year; the city or county authority confirms the assessment (第二十四条);
confirmation dialogs work whatever a form's fields are called."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models.changes import ChangeRequest
from models.graduation import GRADUATED, PASSED, GraduationRecord
from models.lifecycle import arranging
from models.org import OrgUnit
from models.student import Student
from services import graduation, pdf, promotion, year_calendar
from services.certificates import issuing, revocation
from services.errors import RuleViolation
from services.rosters import output, registers
from tests.export_helpers import open_gate
from tests.helpers import CITYDIRECT, HEPING1, HEPING2, school
from tests.services.test_dedup import flag
from tests.transfer_helpers import approve, at, user

DECEMBER = date(2026, 12, 4)  # the first term of 2026–27: no promotion, no graduation
JUNE = date(2027, 6, 15)
ME = "school-heping1"
ROOT = Path(__file__).resolve().parents[2]


def county(code: str) -> OrgUnit:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def pupils_of(code: str) -> list[Student]:
    return list(db.session.scalars(select(Student).where(Student.school_id == school(code).id).order_by(Student.id)))


def set_class(code: str, grade: int, n: int) -> list[Student]:
    pupils = pupils_of(code)
    for i, p in enumerate(pupils):
        with arranging():  # a past state, set directly (models/lifecycle.arranging)
            p.grade, p.status = (grade if i < n else grade - 1), "enrolled"
    db.session.commit()
    return pupils[:n]


def lines(code: str = HEPING1, year: int = 2027) -> list[GraduationRecord]:
    return list(db.session.scalars(select(GraduationRecord).where(GraduationRecord.school_id == school(code).id,
                                                                  GraduationRecord.year == year).order_by(GraduationRecord.id)))


def ready_roster(code: str = HEPING1, who: str = ME, n: int = 3, failed: int = 1) -> list[Student]:
    """In June 2027: the roster compiled and marked by the school (the first `failed` fail), not confirmed."""
    chosen = set_class(code, graduation.graduating_grade(school(code)), n)
    graduation.compile_roster(user(who), school(code), 2027)
    db.session.commit()
    roster = lines(code)
    graduation.mark_assessment(user(who), roster[failed:], True)
    if failed:
        graduation.mark_assessment(user(who), roster[:failed], False)
    db.session.commit()
    return chosen


def grade_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Student).where(Student.promotion_run_id.is_not(None)))


# --- 4. promotion only after the school year has ended -------------------------------------------------


def test_promotion_in_december_is_refused_with_the_window(ctx, monkeypatch):
    at(monkeypatch, DECEMBER)
    assert promotion.default_school_year() == 2027  # the next summer's, not the one that has passed
    for year in (2026, 2027):
        reason = promotion.why_not_now(year)
        assert reason and "正常升级" in reason and f"{year}年7月16日" in reason and f"{year}年8月31日" in reason
        assert "2026年12月4日" in reason
        with pytest.raises(RuleViolation, match="正常升级") as exc:
            promotion.promote(user("heping"), county("210102"), year)
        db.session.rollback()
        assert str(exc.value) == reason
    assert grade_count() == 0


def test_promotion_in_july_and_august_is_allowed(ctx, monkeypatch):
    for day in (date(2027, 7, 16), date(2027, 8, 31)):
        at(monkeypatch, day)
        assert promotion.why_not_now(2027) is None
    at(monkeypatch, date(2027, 7, 15))  # the last day of the school year: not yet
    assert promotion.why_not_now(2027)
    at(monkeypatch, date(2027, 7, 20))
    run = promotion.promote(user("heping"), county("210102"), 2027)
    db.session.commit()
    assert run.promoted > 0


def test_promotion_window_is_the_province_setting(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "PROMOTION_WINDOW", ("08-01", "08-20"))
    at(monkeypatch, date(2027, 7, 20))
    assert "2027年8月1日" in promotion.why_not_now(2027)
    at(monkeypatch, date(2027, 8, 5))
    assert promotion.why_not_now(2027) is None
    monkeypatch.setitem(app.config, "PROMOTION_WINDOW", None)  # unset: the day after SCHOOL_YEAR_END to 31 August
    monkeypatch.setitem(app.config, "SCHOOL_YEAR_END", "07-10")
    assert year_calendar.promotion_window(2027) == (date(2027, 7, 11), date(2027, 8, 31))
    for bad in (("8-1", "08-20"), ("08-01",), ("08-20", "08-01"), ("02-30", "08-01"), ("07-01", "08-01")):
        monkeypatch.setitem(app.config, "PROMOTION_WINDOW", bad)
        with pytest.raises(year_calendar.BadCalendarSetting, match="PROMOTION_WINDOW"):
            promotion.why_not_now(2027)


def test_promotion_preview_says_per_grade_who_moves_and_why_others_are_held_back(ctx, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    pupils = pupils_of(HEPING1)
    for p in pupils:
        with arranging():  # a past state, set directly (models/lifecycle.arranging)
            p.grade, p.status = 3, "enrolled"
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        pupils[0].status, pupils[1].status = "suspended", "abroad"
    pupils[2].grade = 6  # the graduating grade of a primary school
    db.session.commit()
    flag(pupils[3])  # an open 问题学籍 (第七条)
    preview = promotion.preview(user(ME), school(HEPING1), 2027)
    assert preview.blocked is None
    by_grade = {line.grade: line for line in preview.lines}
    assert by_grade[3].moves == len(pupils) - 4
    assert by_grade[3].held == {"suspended": 1, "abroad": 1, promotion.PROBLEM: 1}
    assert by_grade[6].moves == 0 and by_grade[6].held == {promotion.FINAL_GRADE: 1}
    assert promotion.reason_label("abroad") == "出国出境" and "问题学籍" in promotion.reason_label(promotion.PROBLEM)
    run = promotion.promote(user(ME), school(HEPING1), 2027)
    db.session.commit()
    assert run.promoted == preview.total
    assert [p.grade for p in pupils[:4]] == [3, 3, 6, 3]
    again = promotion.preview(user(ME), school(HEPING1), 2027)
    assert {line.grade: line.held.get(promotion.ALREADY, 0) for line in again.lines}[4] == run.promoted


def test_promotion_screen_in_december_disables_the_run_and_says_why(as_user, app, monkeypatch):
    at(monkeypatch, DECEMBER)
    c = as_user("heping")
    page = c.get("/admin/promotion/?unit_code=210102&school_year=2027").get_data(as_text=True)
    assert 'id="promotion-preview"' in page and 'id="run-blocked"' in page and "2027年7月16日" in page
    assert re.search(r'<button type="button" class="btn btn-primary" id="run-promotion" disabled>', page)
    assert "2027年7月16日" in c.get("/admin/promotion/").get_data(as_text=True)  # the default year: next summer's
    resp = c.post_form("/admin/promotion/", {"unit_code": "210102", "school_year": "2027", "checked": "y"},
                       token_from="/admin/promotion/")
    assert resp.status_code == 200 and "正常升级" in resp.get_data(as_text=True)
    with app.app_context():
        assert grade_count() == 0


def test_promotion_screen_in_july_shows_held_back_reasons_and_runs(as_user, app, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    c = as_user("heping")
    page = c.get("/admin/promotion/?unit_code=210102&school_year=2027").get_data(as_text=True)
    assert 'id="run-blocked"' not in page and 'data-confirm=' in page and "毕业年级" in page
    resp = c.post_form("/admin/promotion/", {"unit_code": "210102", "school_year": "2027", "checked": "y"},
                       token_from="/admin/promotion/")
    assert resp.status_code == 302
    with app.app_context():
        assert grade_count() > 0


# --- 4. graduation by 30 July, not in December ---------------------------------------------------------


def test_graduation_in_december_is_refused_with_the_reason(ctx, monkeypatch):
    at(monkeypatch, DECEMBER)
    assert graduation.graduation_year() == 2027
    set_class(HEPING1, 6, 2)
    reason = graduation.why_not_now(2027)
    assert "2027年6月1日" in reason and "2027年7月30日" in reason and "第十二条" in reason
    assert graduation.why_not_now(2027, authority=True) == reason
    with pytest.raises(RuleViolation, match="第十二条"):
        graduation.compile_roster(user(ME), school(HEPING1), 2027)
    db.session.rollback()
    assert lines() == []


def test_graduation_window_june_to_30_july_for_the_school_then_the_authority(ctx, monkeypatch):
    for day in (date(2027, 6, 1), date(2027, 7, 30)):
        at(monkeypatch, day)
        assert graduation.why_not_now(2027) is None
    at(monkeypatch, date(2027, 5, 31))
    assert graduation.why_not_now(2027)
    at(monkeypatch, JUNE)
    ready_roster()
    at(monkeypatch, date(2027, 8, 2))  # after 30 July: the school no longer marks; the authority still may
    assert "第十二条" in graduation.why_not_now(2027) and graduation.why_not_now(2027, authority=True) is None
    with pytest.raises(RuleViolation, match="第十二条"):
        graduation.mark_assessment(user(ME), lines()[0], True)
    db.session.rollback()
    at(monkeypatch, date(2027, 9, 1))  # the late days are over too
    assert "2027年8月31日" in graduation.why_not_now(2027, authority=True)


def test_graduation_dates_are_the_province_setting(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "GRADUATION_DEADLINE", "07-20")
    at(monkeypatch, date(2027, 7, 25))
    assert "2027年7月20日" in graduation.why_not_now(2027) and graduation.deadline(2027) == date(2027, 7, 20)
    monkeypatch.setitem(app.config, "GRADUATION_OPENS", "08-01")  # opens after its deadline
    with pytest.raises(year_calendar.BadCalendarSetting, match="GRADUATION_OPENS"):
        graduation.why_not_now(2027)


def test_roster_screen_in_december_hides_the_work_and_says_why(as_user, app, monkeypatch):
    at(monkeypatch, DECEMBER)
    with app.test_request_context():
        sid = school(HEPING1).id
        set_class(HEPING1, 6, 2)
    c = as_user(ME)
    page = c.get(f"/admin/graduation/{sid}/2027/").get_data(as_text=True)
    assert 'id="roster-blocked"' in page and "2027年6月1日" in page
    assert 'id="compile-roster"' not in page and 'id="submit-roster"' not in page
    assert c.post_form(f"/admin/graduation/{sid}/2027/compile", {}, token_from=f"/admin/graduation/{sid}/2027/").status_code == 302
    with app.app_context():
        assert lines() == []


def test_approval_in_december_is_refused(ctx, monkeypatch):
    at(monkeypatch, JUNE)
    ready_roster()
    graduation.confirm_assessment(user("heping"), school(HEPING1), 2027)
    req = graduation.submit_roster(user(ME), school(HEPING1), 2027)
    db.session.commit()
    at(monkeypatch, date(2027, 12, 1))
    with pytest.raises(RuleViolation, match="第十二条"):
        approve(req, "heping")
    db.session.rollback()
    assert db.session.get(ChangeRequest, req.id).status == "pending"


def test_graduation_dry_run_says_who_graduates_completes_and_who_is_not_listed(ctx, monkeypatch):
    at(monkeypatch, JUNE)
    chosen = ready_roster(HEPING1, n=4, failed=1)
    kept = next(p for p in pupils_of(HEPING1) if p not in chosen)
    with arranging():  # a past state, set directly (models/lifecycle.arranging)
        kept.grade, kept.status = 6, "suspended"
    db.session.commit()
    preview = graduation.approval_preview(school(HEPING1), 2027)
    assert (preview.grade, preview.graduates, preview.completes, preview.unassessed) == (6, 3, 1, 0)
    assert preview.not_listed == {"suspended": 1} and preview.unconfirmed == 4
    assert any("第二十四条" in b for b in preview.blocked)
    graduation.confirm_assessment(user("heping"), school(HEPING1), 2027)
    db.session.commit()
    assert graduation.approval_preview(school(HEPING1), 2027).blocked == []
    for line in lines():
        assert line.outcome is None  # a dry run writes nothing


# --- 4. the graduating year in numbers -------------------------------------------------------------------


def test_certificate_of_a_class_graduating_2027_issued_in_december_2026_is_numbered_2027(ctx, monkeypatch):
    at(monkeypatch, DECEMBER)
    unit = school(HEPING2)
    student = pupils_of(HEPING2)[0]
    record = GraduationRecord(student_id=student.id, school_id=unit.id, scope_path=unit.path, year=2027, grade=9,
                              assessment=PASSED, outcome=GRADUATED)
    db.session.add(record)
    db.session.commit()
    cert = issuing.issue(record, user("school-heping2"))
    db.session.commit()
    assert cert.number == "和平义毕字〔2027〕第000001号" and cert.year == 2027
    assert cert.issued_at.date() == DECEMBER  # the real issue date
    at(monkeypatch, date(2028, 3, 1))  # a reissue a year later keeps the graduating year
    again = revocation.reissue(cert, user("school-heping2"), "lost")
    db.session.commit()
    assert again.number == "和平义毕字〔2027〕第000002号" and again.issued_at.date() == date(2028, 3, 1)


def test_graduation_roster_printed_in_december_carries_the_graduating_year(ctx, monkeypatch):
    at(monkeypatch, JUNE)
    ready_roster()
    at(monkeypatch, DECEMBER)
    _data, doc = output.render_pdf(registers.GRADUATES, school(HEPING1), user(ME), 2027)
    assert doc.number.startswith("BY2027") and doc.printed_at.date() == DECEMBER


# --- 15. the city or county authority confirms the assessment (第二十四条) -------------------------------


def test_the_county_confirms_the_results_and_the_roster_shows_who(ctx, monkeypatch):
    at(monkeypatch, JUNE)
    ready_roster()
    assert graduation.assessment_authority(school(HEPING1)).code == "210102"
    assert graduation.confirm_assessment(user("heping"), school(HEPING1), 2027) == 3
    db.session.commit()
    heping = user("heping")
    for line in lines():
        assert (line.confirmed_by_id, line.confirmed_unit.code, line.confirmed_at.date()) == (heping.id, "210102", JUNE)
        assert graduation.confirmation_text(line).startswith("和平区教育局") and "2027-06-15" in graduation.confirmation_text(line)


def test_the_school_and_the_city_cannot_confirm(ctx, monkeypatch):
    at(monkeypatch, JUNE)
    ready_roster()
    for who in (ME, "shenyang"):
        with pytest.raises(RuleViolation, match="第二十四条"):
            graduation.confirm_assessment(user(who), school(HEPING1), 2027)
        db.session.rollback()
    assert {line.confirmed_at for line in lines()} == {None}


def test_approval_is_refused_while_results_are_unconfirmed(ctx, monkeypatch):
    at(monkeypatch, JUNE)
    pupils = ready_roster()
    req = graduation.submit_roster(user(ME), school(HEPING1), 2027)  # the school may submit its proposal
    db.session.commit()
    with pytest.raises(RuleViolation, match="第二十四条"):
        approve(req, "heping")
    db.session.rollback()
    assert {p.status for p in pupils} == {"enrolled"}
    graduation.confirm_assessment(user("heping"), school(HEPING1), 2027)  # while the request waits
    db.session.commit()
    approve(req, "heping")
    assert db.session.get(ChangeRequest, req.id).status == "completed"


def test_the_authority_records_a_result_confirmed_and_the_school_cannot_change_it(ctx, monkeypatch):
    at(monkeypatch, JUNE)
    ready_roster(failed=0)
    first = lines()[0]
    graduation.mark_assessment(user("heping"), first, False)  # the county's own record of the result
    db.session.commit()
    assert (first.assessment, first.confirmed_unit.code) == ("failed", "210102")
    with pytest.raises(RuleViolation, match="第二十四条"):
        graduation.mark_assessment(user(ME), first, True)
    db.session.rollback()
    assert db.session.get(GraduationRecord, first.id).assessment == "failed"


def test_a_city_direct_school_is_assessed_by_its_city(ctx):
    assert graduation.assessment_authority(school(CITYDIRECT)).level == "city"


def test_roster_page_and_printed_roster_show_the_confirmer(as_user, app, monkeypatch):
    open_gate(monkeypatch)  # 第二十八条: the file's content is tested here, its approval in tests/security
    at(monkeypatch, JUNE)
    with app.test_request_context():
        ready_roster()
        sid = school(HEPING1).id
    url = f"/admin/graduation/{sid}/2027/"
    county_user = as_user("heping")
    page = county_user.get(url).get_data(as_text=True)
    assert 'id="confirm-results"' in page and "未确认" in page
    assert county_user.post_form(url + "confirm", {}, token_from=url).status_code == 302
    page = as_user(ME).get(url).get_data(as_text=True)
    assert 'id="confirm-results"' not in page
    assert page.count("和平区教育局") >= 3 and "2027-06-15" in page
    resp = as_user(ME).get(f"/admin/rosters/graduates/{sid}.pdf?year=2027")
    flat = "".join(pdf.extract_text(resp.data).split())
    assert "考核确认：和平区教育局" in flat and "未确认0人" in flat


def test_school_posting_confirm_is_refused_and_nothing_is_confirmed(as_user, app, monkeypatch):
    at(monkeypatch, JUNE)
    with app.test_request_context():
        ready_roster()
        sid = school(HEPING1).id
    url = f"/admin/graduation/{sid}/2027/"
    resp = as_user(ME).post_form(url + "confirm", {}, token_from=url)
    assert resp.status_code == 302
    assert as_user("shenyang").post_form(url + "confirm", {}, token_from=url).status_code == 403
    with app.app_context():
        assert {line.confirmed_at for line in lines()} == {None}


# --- the confirmation dialog ------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """The forms of a page: whether they ask (data-confirm on the form or a button) and their field names."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._open = {"asks": "data-confirm" in a, "names": set()}
            self.forms.append(self._open)
        elif self._open is not None and tag in ("input", "select", "textarea", "button"):
            if "data-confirm" in a:
                self._open["asks"] = True
            if a.get("name"):
                self._open["names"].add(a["name"])
            if "onclick" in a:
                self._open.setdefault("onclick", []).append(a["onclick"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


# Names that would shadow what a confirmation handler calls: window.confirm inside an inline handler
# (whose scope includes the form), form.submit() and form.getAttribute().
SHADOWING = {"confirm", "submit", "getAttribute"}


def _asking_forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return [f for f in parser.forms if f["asks"]]


def test_no_form_that_asks_has_a_field_named_confirm(as_user, app, monkeypatch):
    at(monkeypatch, date(2027, 7, 20))
    pages = [("heping", "/admin/promotion/?unit_code=210102&school_year=2027")]
    with app.test_request_context():
        ready_roster()
        pages.append((ME, f"/admin/graduation/{school(HEPING1).id}/2027/"))
    seen = 0
    for who, url in pages:
        for form in _asking_forms(as_user(who).get(url).get_data(as_text=True)):
            seen += 1
            assert not form["names"] & SHADOWING, (url, form["names"])
            assert not form.get("onclick"), (url, form["onclick"])  # the page-wide handler asks, no inline confirm()
    assert seen >= 2


def test_no_flask_form_has_a_field_that_shadows_the_form_element():
    import importlib
    import pkgutil

    from flask_wtf import FlaskForm

    import admin
    import forms

    for package in (forms, admin):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    found: list[type] = []
    todo = list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    found = [cls for cls in found if cls.__module__.split(".")[0] in ("forms", "admin")]  # ours, not Flask-Security's
    assert len(found) > 10
    for cls in found:
        names = {name for name, _field in getattr(cls, "_unbound_fields", None) or []} or {
            name for name in vars(cls) if hasattr(getattr(cls, name), "field_class")}
        # A field a Flask-Security base form brings (the login form's "submit") is rendered by its own
        # templates, which call no form.submit(): only the fields our classes add count.
        inherited = {name for base in cls.__mro__[1:] if base.__module__.startswith("flask_security")
                     for name in vars(base) if hasattr(getattr(base, name), "field_class")}
        assert not (names - inherited) & SHADOWING, (cls.__name__, names & SHADOWING)


def test_templates_call_window_confirm_explicitly():
    """Browser-free: no template calls a bare confirm() (a field named confirm would be called
    instead inside an inline handler), and the page-wide handler reads the button's message too."""
    bare = re.compile(r"(?<![\w.])confirm\s*\(")
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        code = re.sub(r"//[^\n]*", "", text)  # comments may name it
        assert not bare.search(code), path
    master = (ROOT / "templates/admin/master.html").read_text(encoding="utf-8")
    assert "window.confirm(message)" in master and "event.submitter" in master
    assert "Element.prototype.getAttribute" in master
