"""Writing an import: all or nothing. If any row is wrong nothing is written; otherwise every
row is enrolled (待核办, submitted to the authority: services/enrollment_records.py) in one transaction."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from extensions import db
from models.imports import VALIDATING, WRITING
from models.org import OrgUnit
from models.people import User
from services import audit, uploads
from services.enrollment_records import finish_enrollments, stage_enrollment
from services.errors import RuleViolation
from services.imports.columns import ImportRejected, Progress, RowData, RowError
from services.imports.validate import BuiltRow, build_row, cell_errors, check_row, check_school, first_rows, ids_in_database

SESSION_BATCH = 500  # rows written between two clears of the session (files under 500 rows are imported inline)


def _lighten_session(school: OrgUnit, actor: User) -> tuple[OrgUnit, User]:
    """Flush what is written so far and forget it, keeping the one transaction.

    Each flush walks every object the session holds, so without this a 10,000-row file costs
    O(n²); the rows stay in the open transaction and are committed (or rolled back) together.
    """
    db.session.flush()
    school_id, actor_id = school.id, actor.id
    db.session.expunge_all()
    return db.session.get(OrgUnit, school_id), db.session.get(User, actor_id)  # type: ignore[return-value]


def _process(built: list[BuiltRow], school: OrgUnit, actor: User, *, reason: str | None,
             progress: Progress | None) -> list[RowError]:
    """Check every row and, while no row has failed, enroll it (the caller commits or rolls back).

    A row is staged by services.enrollment_records.stage_enrollment, which runs the very same validate()
    as a single enrollment; a valid file is therefore checked once, not twice. What can be told
    without the rules of a single record — unreadable cells, an ID number twice in the file, an
    ID number already in the database (one IN query per 1,000) — is checked first: then nothing
    is written at all. Every SESSION_BATCH rows the staged pupils are written together
    (finish_enrollments: one flush, 查重 and the enrollment requests in a few queries). Once any
    row fails, what was flushed is rolled back and the remaining rows are only checked, so the
    report lists every error of the file.
    """
    repeated = first_rows(built)
    writing = not repeated and not any(b.errors for b in built) and not ids_in_database(built)
    errors: list[RowError] = []
    staged: list[BuiltRow] = []

    def refused(b: BuiltRow, exc: RuleViolation) -> None:
        nonlocal writing
        db.session.rollback()  # nothing of the file stays; the rest is only checked
        writing = False
        subject = getattr(exc, "student", None)
        b = next((s for s in staged if s.student is subject), b)
        errors.extend(dict.fromkeys(cell_errors(b, exc.problems) or [RowError(b.row.row, "", str(exc))]))

    def write_staged() -> None:
        nonlocal school, actor
        finish_enrollments([s.student for s in staged], actor, school, reason)
        staged.clear()
        school, actor = _lighten_session(school, actor)

    for i, b in enumerate(built):
        if writing:
            try:
                stage_enrollment(b.student, actor, school, reason, ids_checked=True)
                staged.append(b)
                if len(staged) == SESSION_BATCH or i == len(built) - 1:
                    write_staged()
            except RuleViolation as exc:
                refused(b, exc)
        else:
            errors.extend(check_row(b, school, actor, repeated.get(i)))
        if progress:
            progress(WRITING if writing else VALIDATING, i + 1)
    return errors


def import_rows(
    rows: list[RowData], school: OrgUnit, actor: User, *, filename: str | None = None, progress: Progress | None = None,
) -> int:
    """All or nothing: if any row is wrong, raise ImportRejected (every error of the file) and write
    nothing; else every pupil is enrolled (待核办, submitted to the authority: services.enrollment_records) and
    the transaction is committed once. Returns the number of pupils."""
    check_school(school, actor)
    name = uploads.clean_filename(filename) if filename else "-"
    reason = str(_l("Imported from the Excel file %(name)s", name=name))[:200]
    try:
        # chained_at_the_end: the audit chain's lock is taken by the last flush only, not for the
        # minutes of writing (other requests audit too and would wait).
        with db.session.no_autoflush, audit.acting(actor, reason), audit.chained_at_the_end():
            built = [build_row(r) for r in rows]
            errors = _process(built, school, actor, reason=reason, progress=progress)
            if errors:
                raise ImportRejected(errors)
            audit.record(actor, "import", "student", None, f"{name}：导入 {len(built)} 人 → {school.name}")
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return len(built)
