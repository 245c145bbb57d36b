"""第十五条 in the vacation: only the supervising authority opens a transfer, with a reason, for a
school it supervises — chosen on the form, since an authority has no school of its own."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from extensions import db
from models.changes import ChangeRequest
from models.student import Student
from tests.helpers import CITYDIRECT, HEPING1, SHENHE1, XIGANG1, pupil_of, school
from tests.transfer_helpers import at, lookup_token, png_bytes

URL = "/admin/requests/transfer/new"
AUGUST = date(2026, 8, 10)  # summer vacation: no term, the window is closed


@pytest.fixture(autouse=True)
def vacation(monkeypatch):
    at(monkeypatch, AUGUST)


def _ids(app) -> dict[str, int]:
    with app.app_context():
        return {"pupil": pupil_of(HEPING1).id, "xjh": pupil_of(HEPING1).xjh, "name": pupil_of(HEPING1).name, "shenhe1": school(SHENHE1).id,
                "xigang1": school(XIGANG1).id, "citydirect": school(CITYDIRECT).id}


def _start(client, sid: int, **extra):
    with client.application.app_context():
        pupil = db.session.get(Student, sid)
        number, name = pupil.xjh, pupil.name
    data = {"start-pupil": lookup_token(client, URL, number, name), "start-reason_code": "hukou_moved", "start-hukou_changed": "y",
            "start-contact_form": (io.BytesIO(png_bytes()), "联系表.png"),
            # every material 第十四条 asks for: the start page refuses a transfer without them (issue 14)
            "start-student_info": (io.BytesIO(png_bytes()), "基本信息表.png"), "start-hukou": (io.BytesIO(png_bytes()), "户口簿.png"),
            **{f"start-{k}": v for k, v in extra.items()}}
    return client.post_form(URL, data, token_from=URL, content_type="multipart/form-data")


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ChangeRequest))


def test_authority_chooses_among_the_schools_it_supervises(as_user, app):
    ids = _ids(app)
    page = as_user("shenhe").post_form(URL, {"lookup-term": ids["xjh"], "lookup-name": ids["name"]}).get_data(as_text=True)
    select_html = re.search(r'<select[^>]*id="to-school".*?</select>', page, re.S).group(0)
    assert "沈阳市沈河区第一小学" in select_html
    assert "实验学校" not in select_html  # in 沈河区 but supervised by the city: not its school
    assert "西岗区" not in select_html


def test_authority_opens_a_vacation_transfer_for_its_school_with_a_reason(as_user, app):
    ids = _ids(app)
    resp = _start(as_user("shenhe"), ids["pupil"], to_school=ids["shenhe1"], window_override="家长八月工作调动，需开学前入学")
    assert resp.status_code == 302
    with app.app_context():
        req = db.session.scalar(select(ChangeRequest))
        assert req.to_school.code == SHENHE1 and req.window_override.startswith("家长八月")
        assert req.requested_by.email == "shenhe@xueji.demo"
        assert {a.material for a in req.attachments} == {"contact_form", "student_info", "hukou"}
        assert req.steps[0].unit.code == SHENHE1  # the receiving school still decides its own step


def test_authority_without_a_reason_is_refused_in_the_vacation(as_user, app):
    ids = _ids(app)
    page = _start(as_user("shenhe"), ids["pupil"], to_school=ids["shenhe1"]).get_data(as_text=True)
    assert "转学在学期期间办理（第十五条）" in page and _count(app) == 0


def test_authority_that_chooses_no_school_is_told_to_choose(as_user, app):
    ids = _ids(app)
    page = _start(as_user("shenhe"), ids["pupil"], to_school=0, window_override="家长调动").get_data(as_text=True)
    assert "请选择转入学校" in page and _count(app) == 0


def test_a_school_user_in_the_vacation_is_refused_with_the_reason(as_user, app):
    ids = _ids(app)
    client = as_user("school-shenhe1")
    page = _start(client, ids["pupil"]).get_data(as_text=True)
    assert "转学在学期期间办理（第十五条）" in page and _count(app) == 0
    # Giving a reason does not help: only the authority overrides.
    page = _start(client, ids["pupil"], window_override="家长调动").get_data(as_text=True)
    assert "只有学籍主管部门可以在规定的转学办理时间外受理转学" in page and _count(app) == 0


@pytest.mark.parametrize("other", ["xigang1", "citydirect"])
def test_an_out_of_scope_receiving_school_is_not_found_and_nothing_is_written(as_user, app, other):
    ids = _ids(app)
    resp = _start(as_user("shenhe"), ids["pupil"], to_school=ids[other], window_override="家长调动")
    assert resp.status_code == 404 and _count(app) == 0
    assert _start(as_user("shenhe"), ids["pupil"], to_school=2**40, window_override="家长调动").status_code == 404
    assert _count(app) == 0


def test_a_receiving_school_that_is_not_a_number_is_refused_and_nothing_is_written(as_user, app):
    ids = _ids(app)
    resp = _start(as_user("shenhe"), ids["pupil"], to_school="abc", window_override="家长调动")
    assert resp.status_code == 200 and "请更正" in resp.get_data(as_text=True) and _count(app) == 0
