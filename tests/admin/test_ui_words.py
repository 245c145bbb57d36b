from __future__ import annotations

from datetime import date

from extensions import db
from models.lifecycle import arranging
from services import audit
from tests.builders import make_pupil, make_request, user_of


def test_probe(as_user, ctx):
    pupil = make_pupil(name="历史测试", only_child=True, migrant_child=False)
    actor = user_of(pupil.school)
    with audit.acting(actor, reason="病休"):
        pupil.only_child = False
        with arranging():
            pupil.status = "suspended"
        db.session.flush()
    db.session.commit()
    client = as_user("school-heping1")
    html = client.get(f"/admin/student/details/?id={pupil.id}").get_data(as_text=True)
    open("/tmp/words/details.html", "w").write(html)
    html = client.get("/admin/user/").get_data(as_text=True)
    open("/tmp/words/users.html", "w").write(html)
