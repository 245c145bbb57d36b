"""Building blocks for the transfer tests: actors, evidence files, a transfer up to any step."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from changes import transfer
from extensions import db
from models.changes import ChangeRequest
from models.people import User
from services import workflows
from tests.helpers import HEPING1, pupil_of


def user(who: str) -> User:
    email = who if "@" in who else f"{who}@xueji.demo"
    return db.session.scalar(select(User).where(User.email == email))


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(data: bytes | None = None, name: str = "证明.png") -> FileStorage:
    return FileStorage(stream=io.BytesIO(png_bytes() if data is None else data), filename=name)


def start(receiver: str = "school-shenhe1", pupil_school: str = HEPING1, *, reason: str = "hukou_moved",
          hukou_changed: bool = True, materials: bool = True, **kw) -> ChangeRequest:
    actor = user(receiver)
    student = pupil_of(pupil_school)
    req = transfer.start_transfer(student, actor, reason_code=reason, reason_text="随父母迁居", hukou_changed=hukou_changed, **kw)
    if materials:
        for m in ("contact_form", "student_info", "hukou"):
            workflows.attach(req, m, upload(), actor)
    db.session.commit()
    return req


TOKEN_RE = re.compile(r'name="(?:start|confirm)-pupil" type="hidden" value="([^"]+)"')


def lookup_token(client, url: str, number: str, name: str) -> str:
    """Find a pupil of another school on a lookup page (full number and name together) and return
    the signed token the page's form carries in place of the pupil's row id."""
    page = client.post_form(url, {"lookup-term": number, "lookup-name": name}).get_data(as_text=True)
    m = TOKEN_RE.search(page)
    assert m, "the lookup found no pupil"
    return m.group(1)


DECIDERS = {
    # (receiving school, receiving authority, sending school, sending authority) for 沈河1 ← 和平1
    "shenhe1<-heping1": ("school-shenhe1", "shenhe", "school-heping1", "heping"),
}


def approve(req: ChangeRequest, *who: str) -> None:
    for w in who:
        workflows.decide(req.current_step.id, user(w), True, "同意")
        db.session.commit()


def at(monkeypatch, day: date) -> None:
    """Move the system clock to `day` (09:00)."""
    from services import clock

    monkeypatch.setattr(clock, "today", lambda: day)
    monkeypatch.setattr(clock, "now", lambda: datetime(day.year, day.month, day.day, 9, 0))
