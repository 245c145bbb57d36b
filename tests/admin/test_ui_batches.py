"""Issue 14, point 5 (batches): class certificates for one class of the roster or for selected
pupils, with the grade in words (九年级); the bulk actions of the pupils' list ask first on a page of
their own, then act and report; a selection with a foreign row is refused whole (404)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from extensions import db
from models.audit import StudentHistory
from models.changes import ChangeRequest
from models.graduation import Certificate
from models.student import Student
from services import classes
from services.certificates import batch, issuing
from tests.builders import make_class
from tests.helpers import HEPING1, HEPING2, school
from tests.services.test_certificates import YEAR, pupils, roster
from tests.transfer_helpers import at, user

CLASS_URL = "/admin/certificates/class/"


@pytest.fixture
def summer(monkeypatch):
    at(monkeypatch, date(YEAR, 7, 1))


def _two_classes(app) -> tuple[int, list[int], list[int]]:
    """Six graduates of 和平二中: three in 1班, three in 2班, each with a diploma."""
    with app.test_request_context():
        records = roster(HEPING2, n=6)
        for i, r in enumerate(records):
            r.student.class_name = "1班" if i < 3 else "2班"
        db.session.commit()
        actor = user("school-heping2")
        for r in records:
            issuing.issue(r, actor)
        db.session.commit()
        ids = [r.student_id for r in records]
        return school(HEPING2).id, ids[:3], ids[3:]


def _pdf_pages(c, resp) -> int:
    assert resp.status_code == 302 and "/admin/certificates/job/" in resp.headers["Location"], resp.headers.get("Location")
    job_url = resp.headers["Location"]
    assert 'id="job-done"' in c.get(job_url).get_data(as_text=True)
    return len(PdfReader(io.BytesIO(c.get(job_url + ".pdf").data)).pages)


def test_class_certificates_for_one_class_with_the_grade_in_words(app, as_user, summer):
    school_id, _first, _second = _two_classes(app)
    c = as_user("school-heping2")
    page = c.get(f"{CLASS_URL}?school_id={school_id}&year={YEAR}").get_data(as_text=True)
    assert page.count('id="record-') == 6 and 'name="class_name"' in page
    assert "<td>九年级</td>" in page and "<td>9</td>" not in page
    one = c.get(f"{CLASS_URL}?school_id={school_id}&year={YEAR}&class_name=1班").get_data(as_text=True)
    assert one.count('id="record-') == 3 and "· 1班</h5>" in one and 'name="class_name" value="1班"' in one
    assert c.get(f"{CLASS_URL}?school_id={school_id}&year={YEAR}&class_name=9班").status_code == 404
    resp = c.post_form(f"{CLASS_URL}print", {"school_id": school_id, "year": YEAR, "class_name": "1班"}, token_from=CLASS_URL)
    assert _pdf_pages(c, resp) == 3
    resp = c.post_form(f"{CLASS_URL}print", {"school_id": school_id, "year": YEAR}, token_from=CLASS_URL)
    assert _pdf_pages(c, resp) == 6


def test_certificates_of_selected_pupils_after_a_confirmation(app, as_user, summer):
    _school_id, first, second = _two_classes(app)
    with app.test_request_context():
        not_graduate = pupils(HEPING2)[6].id  # no roster line, no certificate
    c = as_user("school-heping2")
    chosen = [first[0], second[1], not_graduate]
    page = c.post_form("/admin/student/action/", {"action": "print_certificates", "rowid": [str(i) for i in chosen]},
                       token_from="/admin/student/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="batch-confirm-form"' in html and html.count('id="batch-pupil-') == 3
    assert "打印 2 份证书" in html and "义务教育毕业证书" in html and "九年级" in html
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Certificate))
    resp = c.post_form("/admin/student/action/", {"action": "print_certificates", "confirmed": "1",
                                                  "rowid": [str(i) for i in chosen]}, token_from="/admin/student/")
    assert _pdf_pages(c, resp) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == before


def test_bulk_class_assignment_confirms_acts_and_reports(app, as_user):
    with app.test_request_context():
        own = [s.id for s in db.session.scalars(
            select(Student).where(Student.school_id == school(HEPING1).id, Student.status == "enrolled").order_by(Student.id).limit(3))]
        old = {i: db.session.get(Student, i).class_name for i in own}
        for i in own:  # the class the school has set up for each pupil's grade (班级管理)
            make_class(HEPING1, db.session.get(Student, i).grade, "9班")
        db.session.commit()
    c = as_user("school-heping1")
    rowids = [str(i) for i in own]
    page = c.post_form("/admin/student/action/", {"action": "assign_class", "rowid": rowids}, token_from="/admin/student/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('id="batch-pupil-') == 3
    assert "分班" in html or "调班" in html
    with app.app_context():
        for i in own:
            assert db.session.get(Student, i).class_name == old[i]  # nothing done before the confirmation
    # Without a reason: the page again, the error beside its field, nothing done.
    again = c.post_form("/admin/student/action/", {"action": "assign_class", "confirmed": "1", "rowid": rowids,
                                                   "class_name": "9班", "reason": ""}, token_from="/admin/student/")
    assert again.status_code == 200 and "invalid-feedback" in again.get_data(as_text=True)
    done = c.post_form("/admin/student/action/", {"action": "assign_class", "confirmed": "1", "rowid": rowids,
                                                  "class_name": "9班", "reason": "新学期分班"}, token_from="/admin/student/")
    assert done.status_code == 302
    report = c.get(done.headers["Location"]).get_data(as_text=True)
    assert re.search(r"已将 3 名学生分到 9班", report), report[:3000]
    with app.app_context():
        for i in own:
            assert db.session.get(Student, i).class_name == "9班"
            rows = db.session.scalars(select(StudentHistory).where(StudentHistory.student_id == i,
                                                                   StudentHistory.field == "class_name")).all()
            assert rows and rows[-1].new_value == "9班"
        assert db.session.scalar(select(func.count()).select_from(ChangeRequest).where(
            ChangeRequest.student_id.in_(own), ChangeRequest.type == "class_change")) == 3


def test_bulk_class_assignment_reports_the_pupils_it_could_not_move(app, as_user):
    with app.test_request_context():
        rows = db.session.scalars(select(Student).where(Student.school_id == school(HEPING1).id, Student.status == "enrolled")
                                  .order_by(Student.id).limit(2)).all()
        for row in rows:
            make_class(HEPING1, row.grade, "7班")
        classes.place(rows[1], make_class(HEPING1, rows[1].grade, "7班"))
        db.session.commit()
        ids = [str(s.id) for s in rows]
        name = rows[1].name
    c = as_user("school-heping1")
    done = c.post_form("/admin/student/action/", {"action": "assign_class", "confirmed": "1", "rowid": ids,
                                                  "class_name": "7班", "reason": "合班"}, token_from="/admin/student/")
    report = c.get(done.headers["Location"]).get_data(as_text=True)
    assert "已将 1 名学生分到 7班" in report and f"1 名未处理：{name}（该学生已在此班级。）" in report


def test_a_selection_with_a_foreign_pupil_is_refused_whole(app, as_user):
    with app.test_request_context():
        own = db.session.scalar(select(Student).where(Student.school_id == school(HEPING1).id, Student.status == "enrolled"))
        foreign = db.session.scalar(select(Student).where(Student.school_id == school(HEPING2).id))
        own_id, own_class, foreign_id = own.id, own.class_name, foreign.id
    c = as_user("school-heping1")
    for confirmed in ("", "1"):
        resp = c.post_form("/admin/student/action/", {"action": "assign_class", "confirmed": confirmed, "class_name": "8班",
                                                      "reason": "分班", "rowid": [str(own_id), str(foreign_id)]},
                           token_from="/admin/student/")
        assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(Student, own_id).class_name == own_class
        assert not db.session.scalar(select(func.count()).select_from(ChangeRequest).where(ChangeRequest.student_id == own_id,
                                                                                          ChangeRequest.type == "class_change"))


def test_officials_have_no_class_assignment(app, as_user):
    with app.test_request_context():
        own = db.session.scalar(select(Student).where(Student.school_id == school(HEPING1).id, Student.status == "enrolled"))
        own_id, own_class = own.id, own.class_name
    c = as_user("heping")
    assert "assign_class" not in c.get("/admin/student/").get_data(as_text=True)
    c.post_form("/admin/student/action/", {"action": "assign_class", "confirmed": "1", "class_name": "8班", "reason": "x",
                                           "rowid": [str(own_id)]}, token_from="/admin/student/")
    with app.app_context():
        assert db.session.get(Student, own_id).class_name == own_class
    assert batch.INLINE_PAGES > 0


def test_ticked_pupils_of_the_class_page_are_printed_after_the_confirmation(app, as_user, summer):
    school_id, first, second = _two_classes(app)
    c = as_user("school-heping2")
    class_url = f"{CLASS_URL}?school_id={school_id}&year={YEAR}"
    page = c.get(class_url).get_data(as_text=True)
    assert 'id="print-selected-form"' in page and 'action="/admin/student/action/"' in page
    assert page.count('form="print-selected-form"') == 6  # one box per pupil holding a certificate
    ticked = [str(first[1]), str(second[0])]
    confirm = c.post_form("/admin/student/action/", {"action": "print_certificates", "url": class_url, "rowid": ticked},
                          token_from=class_url).get_data(as_text=True)
    assert confirm.count('id="batch-pupil-') == 2 and f'href="{class_url.replace("&", "&amp;")}"' in confirm
    resp = c.post_form("/admin/student/action/", {"action": "print_certificates", "confirmed": "1", "url": class_url,
                                                  "rowid": ticked}, token_from=class_url)
    assert _pdf_pages(c, resp) == 2


def test_the_way_back_is_a_local_page_only(app, as_user):
    with app.test_request_context():
        own = db.session.scalar(select(Student.id).where(Student.school_id == school(HEPING1).id, Student.status == "enrolled"))
    c = as_user("school-heping1")
    data = {"action": "assign_class", "rowid": [str(own)], "url": "https://evil.example/"}
    page = c.post_form("/admin/student/action/", data, token_from="/admin/student/").get_data(as_text=True)
    assert "evil.example" not in page
    done = c.post_form("/admin/student/action/", {**data, "confirmed": "1", "class_name": "5班", "reason": "分班"},
                       token_from="/admin/student/")
    assert done.status_code == 302 and "evil.example" not in done.headers["Location"]
