from sqlalchemy import select
from extensions import db
from models.student import Student
def test_x(as_user, ctx):
    c = as_user("school-heping1")
    s = db.session.scalar(select(Student).where(Student.school.has(code="2112000001")))
    s = s or db.session.scalars(select(Student)).first()
    print(s.id, s.id_number, s.xjh, [g.id_number for g in s.guardians])
    html = c.get(f"/admin/student/details/?id={s.id}").get_data(as_text=True)
    print(s.id_number in html, [g.id_number in html for g in s.guardians])
    import re
    for m in re.finditer(s.id_number, html): print("HIT", html[m.start()-300:m.end()+50])
    r = c.post(f"/admin/student/reveal-id/{s.id}?field=id_number", headers={"X-CSRFToken": c.csrf(f"/admin/student/details/?id={s.id}")})
    print(r.status_code, r.get_data(as_text=True))
