"""What goes with a record when it leaves a school: the sending school's backup on 升学 (第十条),
the request's evidence filed into the archive (第十二条), and the paper file's hand-over (第九、十、十六条)."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models.archive import ArchiveBackup
from services import enrollment
from tests.helpers import HEPING1, HEPING2, pupil_of, school
from tests.transfer_helpers import approve, user


def _continued() -> tuple[int, int]:
    """A 和平一小 primary graduate continued by 和平二中 (升学): (student id, request id)."""
    s = pupil_of(HEPING1)
    s.grade, s.status = 6, "graduated"
    db.session.commit()
    req = enrollment.continue_record(s, user("school-heping2"), school(HEPING2))
    db.session.commit()
    approve(req, "school-heping2")
    return s.id, req.id


# --- 6. 升学 keeps a backup for the primary school (第十条) -------------------------------------------


def test_continuation_leaves_a_backup_the_primary_school_keeps_and_opens(as_user, app):
    with app.test_request_context():
        sid, rid = _continued()
        backup = db.session.scalar(select(ArchiveBackup).where(ArchiveBackup.student_id == sid))
        assert backup is not None and backup.request_id == rid
        assert backup.from_school_id == school(HEPING1).id and backup.scope_path == school(HEPING1).path
        bid = backup.id
    primary = as_user("school-heping1")
    assert f"backup-{bid}" in primary.get("/admin/archive/backups").get_data(as_text=True)
    pdf_file = primary.get(f"/admin/archive/backup/{bid}/pdf")
    assert pdf_file.status_code == 200 and pdf_file.data.startswith(b"%PDF")
    assert primary.get(f"/admin/archive/backup/{bid}/xlsx").status_code == 200
    junior = as_user("school-heping2")
    assert f"backup-{bid}" not in junior.get("/admin/archive/backups").get_data(as_text=True)
    assert junior.get(f"/admin/archive/backup/{bid}/pdf").status_code == 404
