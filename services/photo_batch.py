"""Photos of many pupils at once: a ZIP whose files are named by the pupil's ID number or 学籍号
("210102201505050012.jpg", "G210102201505050012.png", "L2101022015000001.jpg").

Each file is matched among the pupils of the uploader's own school (a school sets photos only for
the records it holds), checked and cropped like a single upload, and saved in its own transaction:
a bad file is reported and the others are kept. The report names every file with what happened
to it. A file that names a pupil of another school is reported as not found, so a ZIP cannot be
used to learn who studies where.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from extensions import db
from models.people import User
from models.photo import BATCH
from models.student import Student
from services import photos
from services.errors import RuleViolation

MAX_ZIP_BYTES = 100 * 1024 * 1024
MAX_FILES = 300  # a large grade; at ~40 ms a photo (JPEG draft decode) a full ZIP takes ~12 s, inside a request
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class FileResult:
    filename: str
    ok: bool
    message: str
    pupil_name: str = ""
    student_id: int | None = None


@dataclass
class BatchReport:
    results: list[FileResult] = field(default_factory=list)

    @property
    def saved(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.ok)


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The file's name as the user's computer wrote it. Windows' ZIP tools store names in GBK
    without the UTF-8 flag; zipfile then decodes them as cp437, which we undo."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):  # not GBK either: keep it as read
            name = name.encode("cp437").decode("gbk")
    return PurePosixPath(name.replace("\\", "/")).name


def _is_skipped(info: zipfile.ZipInfo, name: str) -> bool:
    """Folders, and what macOS and Windows add to a ZIP by themselves."""
    return info.is_dir() or "__MACOSX/" in info.filename or name.startswith(".") or name.lower() == "thumbs.db"


def _key(name: str) -> str:
    return PurePosixPath(name).stem.strip().upper()


def _pupils_by_key(school_id: int, keys: set[str]) -> dict[str, Student]:
    if not keys:
        return {}
    rows = db.session.scalars(select(Student).where(
        Student.school_id == school_id,
        or_(func.upper(Student.id_number).in_(keys), func.upper(Student.xjh).in_(keys)),
    ))
    found: dict[str, Student] = {}
    for pupil in rows:
        for value in (pupil.id_number, pupil.xjh):
            if value and value.upper() in keys:
                found[value.upper()] = pupil
    return found


def open_zip(stream: IO[bytes], filename: str) -> zipfile.ZipFile:
    data = stream.read(MAX_ZIP_BYTES + 1)
    if not data:
        raise RuleViolation(str(_l("%(name)s: the file is empty.", name=filename)))
    if len(data) > MAX_ZIP_BYTES:
        raise RuleViolation(str(_l("%(name)s: a ZIP file may be at most %(mb)d MB.", name=filename,
                                   mb=MAX_ZIP_BYTES // (1024 * 1024))))
    if not data.startswith(ZIP_MAGIC):
        raise RuleViolation(str(_l("%(name)s: this is not a ZIP file. Put the photos into one ZIP file.", name=filename)))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RuleViolation(str(_l("%(name)s: the ZIP file is damaged and cannot be opened.", name=filename))) from exc
    return archive


def import_zip(actor: User, stream: IO[bytes], filename: str) -> BatchReport:
    """Save the photos of a school's ZIP; the report says what happened to each file."""
    if not actor.is_school_user:
        raise RuleViolation(str(_l("Only a school's staff can upload its pupils' photos.")))
    archive = open_zip(stream, filename)
    entries = [(info, _entry_name(info)) for info in archive.infolist()]
    entries = [(info, name) for info, name in entries if not _is_skipped(info, name)]
    if not entries:
        raise RuleViolation(str(_l("The ZIP file contains no photos.")))
    if len(entries) > MAX_FILES:
        raise RuleViolation(str(_l("A ZIP file may hold at most %(n)d photos; this one has %(m)d. Split it by class.",
                                   n=MAX_FILES, m=len(entries))))
    pupils = _pupils_by_key(actor.unit_id, {_key(name) for _info, name in entries})
    report = BatchReport()
    seen: dict[int, str] = {}
    for info, name in sorted(entries, key=lambda e: e[1]):
        report.results.append(_one(actor, archive, info, name, pupils, seen))
    return report


def _one(actor: User, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
         pupils: dict[str, Student], seen: dict[int, str]) -> FileResult:
    if not name.lower().endswith(PHOTO_SUFFIXES):
        return FileResult(name, False, str(_l("Not a photo: only .jpg, .jpeg or .png files are used.")))
    pupil = pupils.get(_key(name))
    if pupil is None:
        return FileResult(name, False, str(_l("No pupil of your school has this ID number or student number.")))
    if pupil.id in seen:
        return FileResult(name, False, str(_l("Another file of this ZIP (%(other)s) is already this pupil's photo.",
                                              other=seen[pupil.id])), pupil.name, pupil.id)
    if info.file_size > photos.MAX_PHOTO_BYTES:  # checked before it is unpacked: a ZIP bomb stops here
        return FileResult(name, False, str(_l("a photo may be at most 2 MB.")), pupil.name, pupil.id)
    try:
        data = archive.read(info)
        photos.set_photo(actor, pupil, data, name, source=BATCH, commit=True)
    except RuleViolation as exc:
        db.session.rollback()
        return FileResult(name, False, "；".join(m.removeprefix(f"{name}：") for _f, m in exc.problems), pupil.name, pupil.id)
    except (zipfile.BadZipFile, OSError, ValueError):
        db.session.rollback()
        return FileResult(name, False, str(_l("the file is damaged inside the ZIP.")), pupil.name, pupil.id)
    seen[pupil.id] = name
    return FileResult(name, True, str(_l("Saved")), pupil.name, pupil.id)
