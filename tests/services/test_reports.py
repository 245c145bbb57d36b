"""第八条: the archive must exist within one month of enrollment; the report lists who is late."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from extensions import db
from models.student import Student
from services import clock
from tests.helpers import HEPING1, SHENHE1, pupil_of


def test_archive_overdue_report_lists_pupils_past_a_month_without_a_complete_archive(as_user, app):
    with app.app_context():
        late, fresh, other = pupil_of(HEPING1), pupil_of("2221000002"), pupil_of(SHENHE1)
        db.session.execute(update(Student).values(created_at=clock.now()))
        for s in (late, other):
            db.session.execute(update(Student).where(Student.id == s.id).values(created_at=clock.now() - timedelta(days=40)))
        db.session.commit()
        names = late.name, fresh.name, other.name
        late_xjh = late.xjh
    html = as_user("heping").get("/admin/archive_overdue/?page_size=100").get_data(as_text=True)
    assert late_xjh[-4:] in html and names[0] in html
    assert names[2] not in html  # 沈河 is outside 和平's scope
    assert as_user("school-shenhe1").get("/admin/archive_overdue/").status_code == 200
