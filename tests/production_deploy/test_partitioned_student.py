"""The app unchanged on a student table partitioned by province code (issue 15, point 10).

A database of its own is migrated, `student` is rebuilt as a LIST-partitioned table (one partition
for 辽宁 21, one for 北京 11, a default one; tests/production_deploy/partitioning.py), the demo
province is loaded through the app, and real flows run through the test client: lists and details
at every level, a new pupil, a transfer within the province with its four approvals, a search.
EXPLAIN of the app's own school and province list queries shows one partition read.
docs/deploy.md "全国规模" is the document this test backs.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from extensions import db
from models.changes import ChangeRequest
from models.org import CITY, COUNTY, PROVINCE, SCHOOL, OrgUnit, child_path
from models.student import Student
from tests.conftest import Client, login
from tests.helpers import HEPING1, SHENHE1, make_id, pupil_of, student_form
from tests.production_deploy.partitioning import add_national_identity, partition_student
from tests.transfer_helpers import TOKEN_RE, png_bytes

SUITE_URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not SUITE_URL.startswith("postgresql"),
                                reason="table partitioning is PostgreSQL's: set TEST_DATABASE_URL to a PostgreSQL database")
# One per xdist worker: the module's tests may be spread over several workers, each with this fixture.
OWN_DATABASE = "_".join(filter(None, ("test_deploy_partitioned", os.environ.get("PYTEST_XDIST_WORKER"))))
BEIJING_SCHOOL = "1111000001"


def _admin(statement: str) -> None:
    engine = create_engine(make_url(SUITE_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _beijing_pupil() -> int:
    """One pupil of another province, written as province 11's deployment would write it: its
    connection says xueji.province_code = 11 (SET LOCAL: for this transaction only)."""
    db.session.execute(text("SET LOCAL xueji.province_code = '11'"))
    parent = None
    for code, name, level in (("11", "北京市", PROVINCE), ("1101", "北京市市辖区", CITY),
                              ("110101", "东城区教育委员会", COUNTY), (BEIJING_SCHOOL, "东城区第一小学", SCHOOL)):
        parent = OrgUnit(code=code, name=name, level=level, parent=parent, path=child_path(parent, code),
                         school_kind="primary" if level == SCHOOL else None)
        db.session.add(parent)
    assert parent is not None
    pupil = Student(name="京外测试生", gender="1", birth_date=date(2016, 5, 1), id_number=make_id("110101", date(2016, 5, 1), 7),
                    xjh="G110101201605010071", school=parent, scope_path=parent.path, grade=4)
    db.session.add(pupil)
    db.session.commit()
    return pupil.id


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on a database of its own whose student table is partitioned, with the demo and one
    pupil of Beijing. The connection names the deployment's province (the column's DEFAULT)."""
    from app import create_app
    from cli.demo import load_demo
    from config import TestConfig
    from services import queue

    previous = queue._bound.get("app")  # create_app rebinds the queue to the newest app: give it back after
    _admin(f'DROP DATABASE IF EXISTS "{OWN_DATABASE}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{OWN_DATABASE}"')
    config = TestConfig()
    url = make_url(SUITE_URL).set(database=OWN_DATABASE).update_query_dict({"options": "-c xueji.province_code=21"})
    config.SQLALCHEMY_DATABASE_URI = url.render_as_string(hide_password=False)
    own = tmp_path_factory.mktemp("deploy")
    config.UPLOAD_DIR = str(own / "uploads")
    config.QUEUE_URL = f"sqlite:///{own / 'queue.db'}"
    app = create_app(config)
    try:
        with app.app_context():
            upgrade()
            with db.engine.begin() as conn:
                partition_student(conn, ["21", "11"])
                add_national_identity(conn)
        with app.test_request_context():
            load_demo(pupils=70)
            app.config["BEIJING_PUPIL"] = _beijing_pupil()
            db.session.remove()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        _clients.clear()
        if previous is not None:
            queue.init_app(previous)
        # The database stays for a look after a failure; the next run drops it first.


@pytest.fixture(autouse=True)
def demo() -> None:
    """Replaces tests/conftest.py's: these tests have their own database and app (above), and
    commit for real; they must not touch the suite's database."""


_clients: dict[str, Client] = {}


def _client(app: Flask, who: str) -> Client:
    """One logged-in client per account for the module: a second login would end the first
    session (one session per account, services/sessions.py)."""
    if who not in _clients:
        _clients[who] = login(app, f"{who}@xueji.demo")
    return _clients[who]


def _partition_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(text("SELECT tableoid::regclass::text, count(*) FROM student GROUP BY 1"))
        return dict(rows.all())


def test_student_is_partitioned_by_province(app: Flask) -> None:
    with app.app_context():
        assert db.session.scalar(text("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'student'::regclass")) == "l"
    counts = _partition_counts(app)
    assert counts.get("student_p11") == 1 and counts.get("student_p21", 0) >= 70 and "student_pdefault" not in counts


def test_lists_and_details_at_every_level(app: Flask) -> None:
    with app.app_context():
        pupil = pupil_of(HEPING1)
        pupil_id, name = pupil.id, pupil.name
    beijing = app.config["BEIJING_PUPIL"]
    for who in ("school-heping1", "heping", "shenyang", "province"):
        c = _client(app, who)
        listing = c.get("/admin/student/")
        assert listing.status_code == 200, who
        assert f"details/?id={pupil_id}" in listing.get_data(as_text=True) or who != "school-heping1"
        details = c.get(f"/admin/student/details/?id={pupil_id}")
        assert details.status_code == 200 and name in details.get_data(as_text=True), who
        assert c.get(f"/admin/student/details/?id={beijing}").status_code == 404, who  # another province: out of scope
    assert _client(app, "shenhe").get(f"/admin/student/details/?id={pupil_id}").status_code == 404


def test_a_new_pupil_lands_in_the_province_partition(app: Flask) -> None:
    form = student_form(name="分区新生", id_number=make_id("210102", date(2017, 3, 15), 531))
    resp = _client(app, "school-heping1").post_form("/admin/student/new/", form)
    assert resp.status_code == 302
    with app.app_context():
        row = db.session.execute(text("SELECT tableoid::regclass::text, province_code, id_number FROM student "
                                      "WHERE name = '分区新生'")).one()
        assert row[:2] == ("student_p21", "21")
        assert db.session.scalar(text("SELECT province_code FROM student_identity WHERE kind = 'id' AND number = :n"),
                                 {"n": row[2]}) == "21"


def test_search_finds_pupils_of_the_scope_only(app: Flask) -> None:
    with app.app_context():
        pupil = pupil_of(HEPING1)
        pupil_id, name, number = pupil.id, pupil.name, pupil.id_number
    c = _client(app, "heping")
    for term in (name, number, number[-6:]):
        html = c.get("/admin/student/", query_string={"search": term}).get_data(as_text=True)
        assert f"details/?id={pupil_id}" in html, term
    html = _client(app, "province").get("/admin/student/", query_string={"search": "京外测试生"}).get_data(as_text=True)
    assert f"details/?id={app.config['BEIJING_PUPIL']}" not in html  # another province's pupil: not in 21's search


def _decide(client: Client, request_id: int, step_id: int):
    page = f"/admin/requests/{request_id}/"
    return client.post_form(f"{page}decide", {"step_id": step_id, "decision": "approve", "comment": "同意"}, token_from=page)


def test_a_transfer_within_the_province_with_its_approvals(app: Flask) -> None:
    with app.app_context():
        pupil = pupil_of(HEPING1)
        pupil_id, xjh, name = pupil.id, pupil.xjh, pupil.name
    receiver = _client(app, "school-shenhe1")
    page = receiver.post_form("/admin/requests/transfer/new", {"lookup-term": xjh, "lookup-name": name}).get_data(as_text=True)
    token = TOKEN_RE.search(page).group(1)  # type: ignore[union-attr]
    data = {"start-pupil": token, "start-reason_code": "hukou_moved", "start-reason_text": "随父母迁居", "start-hukou_changed": "y",
            **{f"start-{m}": (io.BytesIO(png_bytes()), f"{m}.png") for m in ("contact_form", "student_info", "hukou")}}
    resp = receiver.post_form("/admin/requests/transfer/new", data, token_from="/admin/requests/transfer/new",
                              content_type="multipart/form-data")
    assert resp.status_code == 302
    request_id = int(re.search(r"/admin/requests/(\d+)/", resp.headers["Location"]).group(1))  # type: ignore[union-attr]
    for who in ("school-shenhe1", "shenhe", "school-heping1", "heping"):
        with app.app_context():
            step_id = db.session.get(ChangeRequest, request_id).current_step.id
        assert _decide(_client(app, who), request_id, step_id).status_code == 302, who
    assert receiver.post_form(f"/admin/requests/{request_id}/report", {}, token_from=f"/admin/requests/{request_id}/").status_code == 302
    with app.app_context():
        req = db.session.get(ChangeRequest, request_id)
        assert req.status == "completed" and req.student.school.code == SHENHE1
        where = db.session.execute(text("SELECT tableoid::regclass::text, scope_path FROM student WHERE id = :i"), {"i": pupil_id}).one()
        assert where[0] == "student_p21" and where[1].endswith(f"/{SHENHE1}/")
        # The request's own rows carry the partition key too (their foreign key is (student_id, province_code)).
        assert db.session.scalar(text("SELECT province_code FROM change_request WHERE id = :i"), {"i": request_id}) == "21"
        assert db.session.get(Student, pupil_id).scope_path == where[1]
    assert Path(app.config["UPLOAD_DIR"]).exists()


def _list_queries(app: Flask, who: str) -> list[tuple[str, object]]:
    """The statements on the student table that the list page of `who` runs, with their parameters."""
    seen: list[tuple[str, object]] = []
    client = _client(app, who)
    with app.app_context():
        engine = db.engine

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        if re.search(r"\bFROM student\b", statement) and "scope_path" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        assert client.get("/admin/student/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert seen, f"the list page of {who} ran no scoped query on student"
    return seen


@pytest.mark.parametrize("who", ["school-heping1", "heping", "shenyang", "province"])
def test_a_scoped_list_reads_one_partition(app: Flask, who: str) -> None:
    """Partition pruning: the list queries of a school (scope_path = …), a county and a city
    (substr(scope_path, 1, 16 or 9) = …) and the province (a range over /21/…) read student_p21
    only; the partitions' CHECKs on those forms let the planner skip 11 and the default partition
    without the app ever naming province_code."""
    for statement, parameters in _list_queries(app, who):
        with app.app_context():
            plan = "\n".join(db.session.connection().exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
        assert "student_p21" in plan and "student_p11" not in plan and "student_pdefault" not in plan, plan


def test_identity_numbers_stay_unique_across_provinces(app: Flask) -> None:
    """uq_student_id_number holds per partition only; the national table refuses a number held in
    another province, which the per-province unique index alone would let in."""
    with app.app_context():
        number = pupil_of(HEPING1).id_number
        db.session.execute(text("SET LOCAL xueji.province_code = '11'"))
        school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == BEIJING_SCHOOL))
        db.session.add(Student(name="重号测试", gender="1", birth_date=date(2016, 5, 1), id_number=number,
                               school=school, scope_path=school.path, grade=4))
        with pytest.raises(IntegrityError, match="pk_student_identity"):
            db.session.commit()
        db.session.rollback()
        # The province's key is enforced by the partitioned table itself as well.
        pupil = pupil_of(HEPING1)
        with pytest.raises(IntegrityError, match="violates check constraint"):
            db.session.execute(text("UPDATE student SET province_code = '11' WHERE id = :i"), {"i": pupil.id})
        db.session.rollback()
