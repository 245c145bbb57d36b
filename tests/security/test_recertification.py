"""Access recertification (访问权限复核, issue 13 point 9): each term the unit above confirms the
accounts and roles of the units directly below it; every decision is recorded (who, when), a
disabling is done through the account service and audited, and a closed review stays readable."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models.access_review import AccessReview, AccessReviewItem
from models.audit import AuditLog
from models.people import User

INDEX = "/admin/access_review/"


def _start(client) -> int:
    resp = client.post_form(INDEX + "start", {}, token_from=INDEX)
    assert resp.status_code == 302, resp.status_code
    return int(re.search(r"/access_review/(\d+)/", resp.headers["Location"]).group(1))


def _item(app, review_id: int, email: str) -> AccessReviewItem:
    with app.app_context():
        item = db.session.scalar(select(AccessReviewItem).where(AccessReviewItem.review_id == review_id,
                                                                AccessReviewItem.email == email))
        assert item is not None, email
        db.session.expunge(item)
        return item


def _decide(client, review_id: int, item_id: int, decision: str, note: str = ""):
    return client.post_form(f"{INDEX}{review_id}/decide/{item_id}", {"decision": decision, "note": note},
                            token_from=f"{INDEX}{review_id}/")


def _active(app, email: str) -> bool:
    with app.app_context():
        return db.session.scalar(select(User.active).where(User.email == email))


def test_the_county_review_lists_its_schools_accounts_with_roles_in_chinese(as_user):
    c = as_user("heping")
    assert 'id="start-review"' in c.get(INDEX).get_data(as_text=True)
    rid = _start(c)
    html = c.get(f"{INDEX}{rid}/").get_data(as_text=True)
    for email in ("school-heping1@", "principal-heping1@", "school-heping2@", "principal-heping2@", "school-special@"):
        assert email in html, email
    for email in ("school-shenhe1@", "school-citydirect@", "school-xigang1@", "heping@xueji.demo<", "baomi-heping@"):
        assert email not in html, email  # another county's schools, the county's own colleagues
    table = html.split('id="review-items"', 1)[1].split("</table>", 1)[0]
    assert "学籍管理员" in table and "校长" in table
    assert ">registrar<" not in table and ">principal<" not in table and "registrar" not in table.replace("@xueji", "")


def test_the_city_review_lists_its_counties_accounts_only(as_user):
    c = as_user("shenyang")
    rid = _start(c)
    html = c.get(f"{INDEX}{rid}/").get_data(as_text=True)
    for email in ("heping@", "shenhe@", "kangping@", "baomi-heping@"):
        assert f">{email}xueji.demo<" in html, email
    assert "school-heping1@" not in html and "xigang@" not in html and "dalian@" not in html


def test_starting_twice_gives_the_same_review_of_the_term(as_user):
    c = as_user("heping")
    assert _start(c) == _start(c)


def test_keep_is_recorded_with_who_and_when(app, as_user):
    c = as_user("heping")
    rid = _start(c)
    item = _item(app, rid, "school-heping1@xueji.demo")
    resp = _decide(c, rid, item.id, "keep", "仍在岗")
    assert resp.status_code == 302
    with app.app_context():
        row = db.session.get(AccessReviewItem, item.id)
        assert row.decision == "keep" and row.note == "仍在岗"
        assert row.decided_by.email == "heping@xueji.demo" and row.decided_at is not None
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "access_review.decide",
                                                        AuditLog.object_id == str(row.user_id))) is not None
    html = c.get(f"{INDEX}{rid}/").get_data(as_text=True)
    assert "保留" in html and "仍在岗" in html and "和平区教育局学籍股" in html


def test_disable_stops_the_account_and_is_audited(app, as_user):
    c = as_user("heping")
    rid = _start(c)
    item = _item(app, rid, "principal-heping2@xueji.demo")
    assert _decide(c, rid, item.id, "disable", "已调离").status_code == 302
    assert not _active(app, "principal-heping2@xueji.demo")
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.disable",
                                                       AuditLog.object_id == str(item.user_id)))
        assert row is not None and row.user_email == "heping@xueji.demo"
        assert "访问权限复核" in row.detail and "已调离" in row.detail
    from tests.conftest import login

    with pytest.raises(AssertionError):
        login(app, "principal-heping2@xueji.demo")


def test_adjust_needs_a_note_and_changes_no_role(app, as_user):
    c = as_user("heping")
    rid = _start(c)
    item = _item(app, rid, "school-heping2@xueji.demo")
    _decide(c, rid, item.id, "adjust")
    assert "请在备注中说明应如何调整角色" in c.get(f"{INDEX}{rid}/").get_data(as_text=True)
    assert _item(app, rid, "school-heping2@xueji.demo").decision is None
    _decide(c, rid, item.id, "adjust", "应改为分管校领导")
    assert _item(app, rid, "school-heping2@xueji.demo").decision == "adjust"
    with app.app_context():
        assert {r.name for r in db.session.get(User, item.user_id).roles} == {"registrar"}


@pytest.mark.parametrize("decision, note", [("promote", ""), ("", ""), ("keep", "长" * 201)])
def test_bad_decisions_are_refused_with_a_message(app, as_user, decision, note):
    c = as_user("heping")
    rid = _start(c)
    item = _item(app, rid, "school-heping1@xueji.demo")
    resp = c.post_form(f"{INDEX}{rid}/decide/{item.id}", {"decision": decision, "note": note},
                       token_from=f"{INDEX}{rid}/")
    assert resp.status_code == 302
    page = c.get(f"{INDEX}{rid}/").get_data(as_text=True)
    assert "请选择保留、停用或调整角色" in page or "备注最多" in page
    assert _item(app, rid, "school-heping1@xueji.demo").decision is None


def test_a_decided_account_is_not_decided_again(app, as_user):
    c = as_user("heping")
    rid = _start(c)
    item = _item(app, rid, "school-heping1@xueji.demo")
    _decide(c, rid, item.id, "keep")
    _decide(c, rid, item.id, "disable")
    assert _item(app, rid, "school-heping1@xueji.demo").decision == "keep"
    assert _active(app, "school-heping1@xueji.demo")


def test_close_needs_every_decision_then_the_review_reads_only(app, as_user):
    c = as_user("heping")
    rid = _start(c)
    c.post_form(f"{INDEX}{rid}/close", {}, token_from=f"{INDEX}{rid}/")
    assert "请对每个账号作出决定后再结束复核" in c.get(f"{INDEX}{rid}/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(AccessReview, rid).status == "open"
    c.post_form(f"{INDEX}{rid}/keep-rest", {}, token_from=f"{INDEX}{rid}/")
    assert c.post_form(f"{INDEX}{rid}/close", {}, token_from=f"{INDEX}{rid}/").status_code == 302
    with app.app_context():
        review = db.session.get(AccessReview, rid)
        assert review.status == "closed" and review.closed_by.email == "heping@xueji.demo" and review.closed_at
        assert all(i.decision == "keep" for i in review.items)
    html = c.get(f"{INDEX}{rid}/").get_data(as_text=True)
    assert "已结束" in html and 'id="close-review"' not in html and 'name="decision"' not in html
    assert f"{INDEX}{rid}/" in c.get(INDEX).get_data(as_text=True)  # listed among the past reviews
    item = _item(app, rid, "school-heping1@xueji.demo")
    _decide(c, rid, item.id, "disable")
    assert _active(app, "school-heping1@xueji.demo")


def test_another_countys_review_answers_404_and_changes_nothing(app, as_user):
    rid = _start(as_user("heping"))
    item = _item(app, rid, "school-heping1@xueji.demo")
    other = as_user("shenhe")
    for url in (f"{INDEX}{rid}/",):
        assert other.get(url).status_code == 404
    for url in (f"{INDEX}{rid}/decide/{item.id}", f"{INDEX}{rid}/keep-rest", f"{INDEX}{rid}/close"):
        resp = other.post_form(url, {"decision": "disable"}, token_from=INDEX)
        assert resp.status_code == 404, url
    assert _active(app, "school-heping1@xueji.demo")
    assert _item(app, rid, "school-heping1@xueji.demo").decision is None
    # the city above sees only its own review, not the county's
    assert as_user("shenyang").get(f"{INDEX}{rid}/").status_code == 404


def test_an_item_of_another_review_answers_404(app, as_user):
    heping_review = _start(as_user("heping"))
    city = as_user("shenyang")
    city_review = _start(city)
    foreign_item = _item(app, heping_review, "school-heping1@xueji.demo")
    assert _decide(city, city_review, foreign_item.id, "disable").status_code == 404
    assert _active(app, "school-heping1@xueji.demo")


@pytest.mark.parametrize("who", ["school-heping1", "admin", "security-admin", "audit-admin", "baomi-heping"])
def test_only_officials_open_the_review(as_user, who):
    c = as_user(who)
    assert c.get(INDEX).status_code == 403
    assert c.post_form(INDEX + "start", {}, token_from="/admin/").status_code == 403
