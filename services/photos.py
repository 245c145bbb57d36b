"""The pupil's photo (学生照片): checked by content, cropped to the ID-photo frame, kept with history.

An upload is JPEG or PNG by its content (never by its name), at most 2 MB. It is turned upright
(EXIF orientation), cut to the 358×441 proportions of a 二寸 ID photo around its centre, scaled to
358×441 and stored as a JPEG. Each upload is a new `PupilPhoto` row and a `StudentHistory` row
("照片" old → new), so the details page, the 学籍卡 and the student card always use the newest
photo while the older ones stay on record.

Only the staff of the school holding the record set a photo (the same rule as the archive,
services/archive.can_edit); everyone whose scope covers the pupil sees it.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from extensions import db
from models.audit import StudentHistory
from models.people import User
from models.photo import UPLOAD, PupilPhoto
from models.student import Student
from services import archive, audit, uploads
from services.errors import NotInScope, RuleViolation

MAX_PHOTO_BYTES = 2 * 1024 * 1024
WIDTH, HEIGHT = 358, 441  # the national form's ID-photo size (二寸照片 proportions)
MIN_WIDTH, MIN_HEIGHT = WIDTH // 2, HEIGHT // 2  # smaller than this cannot print legibly on a card
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
JPEG_QUALITY = 88
HISTORY_FIELD = "photo"
PHOTO_TYPES = ("image/jpeg", "image/png")


@dataclass(frozen=True)
class CroppedPhoto:
    data: bytes
    width: int
    height: int


def _refuse(filename: str, message: str) -> RuleViolation:
    return RuleViolation([("photo", f"{filename}：{message}")])


def crop(data: bytes, filename: str) -> CroppedPhoto:
    """The stored form of an uploaded photo, or a RuleViolation that says what is wrong with it."""
    if not data:
        raise _refuse(filename, str(_l("the file is empty.")))
    if len(data) > MAX_PHOTO_BYTES:
        raise _refuse(filename, str(_l("a photo may be at most 2 MB.")))
    if uploads.sniff(data) not in PHOTO_TYPES:
        raise _refuse(filename, str(_l("only JPEG or PNG photos are accepted.")))
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise _refuse(filename, str(_l("the picture is too large (more than 40 million pixels).")))
            if img.width < MIN_WIDTH or img.height < MIN_HEIGHT:
                raise _refuse(filename, str(_l("the picture is too small: at least %(w)d×%(h)d pixels.",
                                                w=MIN_WIDTH, h=MIN_HEIGHT)))
            # A phone's JPEG is often 4000×3000: decoding it at 1/2–1/8 scale (JPEG's DCT scaling)
            # is several times faster and still leaves at least twice the output size either way
            # round (a square request, because EXIF may turn the picture), so the crop loses nothing.
            img.draft("RGB", (2 * HEIGHT, 2 * HEIGHT))
            upright = ImageOps.exif_transpose(img).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise _refuse(filename, str(_l("the picture cannot be read."))) from exc
    # ImageOps.fit cuts the largest centred 358:441 frame and scales it: a head-and-shoulders
    # photo taken a little wide or tall keeps its centre.
    framed = ImageOps.fit(upright, (WIDTH, HEIGHT), method=Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    out = io.BytesIO()
    framed.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return CroppedPhoto(out.getvalue(), WIDTH, HEIGHT)


def may_set(actor: User, student: Student) -> bool:
    return archive.can_edit(actor, student)


def current(student_id: int) -> PupilPhoto | None:
    return db.session.scalar(
        select(PupilPhoto).where(PupilPhoto.student_id == student_id).order_by(PupilPhoto.id.desc()).limit(1)
    )


def history(student_id: int) -> list[PupilPhoto]:
    return list(db.session.scalars(
        select(PupilPhoto).where(PupilPhoto.student_id == student_id).order_by(PupilPhoto.id.desc())
    ))


def current_by_student(student_ids: list[int]) -> dict[int, PupilPhoto]:
    """The current photo of each of many pupils in one query (a class's cards, a batch of 学籍卡)."""
    if not student_ids:
        return {}
    newest = (
        select(PupilPhoto.student_id, db.func.max(PupilPhoto.id).label("id"))
        .where(PupilPhoto.student_id.in_(student_ids)).group_by(PupilPhoto.student_id).subquery()
    )
    rows = db.session.scalars(select(PupilPhoto).join(newest, PupilPhoto.id == newest.c.id))
    return {p.student_id: p for p in rows}


def read_bytes(photo: PupilPhoto | None) -> bytes | None:
    if photo is None:
        return None
    path = uploads.path_of(photo.sha256)
    return path.read_bytes() if path.is_file() else None


def photo_bytes(student_id: int) -> bytes | None:
    """The current photo's JPEG, or None when the pupil has none (or its file is missing)."""
    return read_bytes(current(student_id))


def data_uri(data: bytes | None) -> str | None:
    """For a printed document: services/pdf.link_callback accepts inline JPEG data URIs only."""
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii") if data else None


def load_for_reading(actor: User, student_id: int) -> Student:
    return archive.load_student(actor, student_id)


def set_photo(actor: User, student: Student, data: bytes, filename: str, *, source: str = UPLOAD,
              commit: bool = True) -> PupilPhoto:
    """Record a new current photo of `student` (the caller loaded it in scope)."""
    if not archive.can_read(actor, student):
        raise NotInScope()
    if not may_set(actor, student):
        raise RuleViolation([("photo", str(_l("The photo is kept by the pupil's school: only its staff can change it.")))])
    name = uploads.clean_filename(filename)
    cropped = crop(data, name)
    previous = current(student.id)
    digest = uploads.store(cropped.data)
    photo = PupilPhoto(student_id=student.id, sha256=digest, width=cropped.width, height=cropped.height,
                       original_name=name, source=source, uploaded_by_id=actor.id)
    db.session.add(photo)
    db.session.add(StudentHistory(
        student_id=student.id, field=HISTORY_FIELD,
        old_value=f"照片 {previous.sha256[:8]}" if previous else None, new_value=f"照片 {digest[:8]}",
        reason=str(_l("Photo uploaded")) if source == UPLOAD else str(_l("Photo batch upload")),
        changed_by_id=actor.id,
    ))
    audit.record(actor, "student.photo", "student", student.id, f"{student.name}：{name}")
    if commit:
        db.session.commit()
    return photo
