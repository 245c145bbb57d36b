"""学生照片 (issue 16, point 1): content check, the ID-photo crop, history, who may set it, batch ZIP."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image
from sqlalchemy import select

from cli.realistic import HEPING1, HEPING2, make_pupil, school, user_of
from extensions import db
from models.audit import AuditLog, StudentHistory
from models.photo import BATCH
from services import photo_batch, photos, uploads
from services.errors import NotInScope, RuleViolation


def jpeg(width: int = 600, height: int = 800, colour: tuple[int, int, int] = (200, 40, 40), fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, fmt)
    return out.getvalue()


def registrar(code: str = HEPING1):
    return user_of(school(code))


def problems_of(exc: pytest.ExceptionInfo) -> str:
    return "；".join(m for _f, m in exc.value.problems)


def test_a_photo_is_cut_to_the_id_photo_frame(ctx):
    for size in ((600, 800), (1200, 600), (400, 2000)):
        cropped = photos.crop(jpeg(*size), "a.jpg")
        with Image.open(io.BytesIO(cropped.data)) as img:
            assert img.format == "JPEG" and img.size == (358, 441)


def test_a_png_with_transparency_becomes_a_jpeg(ctx):
    out = io.BytesIO()
    Image.new("RGBA", (400, 500), (0, 0, 255, 128)).save(out, "PNG")
    with Image.open(io.BytesIO(photos.crop(out.getvalue(), "a.png").data)) as img:
        assert img.format == "JPEG" and img.mode == "RGB"


@pytest.mark.parametrize(("data", "words"), [
    (b"", "空"),
    (b"GIF89a" + b"\0" * 100, "JPEG 或 PNG"),
    (b"%PDF-1.4\n%%EOF", "JPEG 或 PNG"),
    (b"\xff\xd8\xff" + b"\0" * 200, "JPEG 或 PNG"),  # a JPEG header on nothing
    (b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024), "2 MB"),
])
def test_what_is_not_a_photo_is_refused_with_a_reason(ctx, data, words):
    with pytest.raises(RuleViolation) as exc:
        photos.crop(data, "照片.jpg")
    assert words in problems_of(exc) and "照片.jpg" in problems_of(exc)


def test_a_thumbnail_is_too_small_to_print(ctx):
    with pytest.raises(RuleViolation) as exc:
        photos.crop(jpeg(100, 120), "small.jpg")
    assert "179×220" in problems_of(exc)


def test_a_decompression_bomb_is_refused_before_decoding(ctx):
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG")  # 64 million pixels in a few kB
    with pytest.raises(RuleViolation) as exc:
        photos.crop(out.getvalue(), "bomb.png")
    assert "像素" in problems_of(exc)


def test_each_upload_is_kept_and_the_newest_is_current(ctx):
    pupil = make_pupil(name="𠮷㛃")
    actor = registrar()
    first = photos.set_photo(actor, pupil, jpeg(colour=(255, 0, 0)), "一.jpg")
    second = photos.set_photo(actor, pupil, jpeg(colour=(0, 0, 255)), "二.png")
    assert photos.current(pupil.id).id == second.id
    assert [p.id for p in photos.history(pupil.id)] == [second.id, first.id]
    assert uploads.path_of(first.sha256).is_file() and photos.photo_bytes(pupil.id) == uploads.path_of(second.sha256).read_bytes()
    rows = db.session.scalars(select(StudentHistory).where(StudentHistory.student_id == pupil.id,
                                                          StudentHistory.field == "photo").order_by(StudentHistory.id)).all()
    assert [r.old_value is None for r in rows] == [True, False]
    assert rows[1].old_value == f"照片 {first.sha256[:8]}" and rows[1].new_value == f"照片 {second.sha256[:8]}"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "student.photo", AuditLog.object_id == str(pupil.id)))
    assert photos.current_by_student([pupil.id])[pupil.id].id == second.id


def test_only_the_school_holding_the_record_sets_the_photo(ctx):
    pupil = make_pupil()
    with pytest.raises(NotInScope):
        photos.set_photo(registrar(HEPING2), pupil, jpeg(), "a.jpg")
    county = user_of(school(HEPING1).parent)
    with pytest.raises(RuleViolation):
        photos.set_photo(county, pupil, jpeg(), "a.jpg")
    assert photos.current(pupil.id) is None


def zip_of(files: dict[str, bytes], utf8: bool = True) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            if not utf8:  # what Windows' "send to compressed folder" writes: GBK names, no UTF-8 flag
                info.filename = name.encode("gbk").decode("cp437")
            z.writestr(info, data)
    out.seek(0)
    return out


def test_a_zip_sets_photos_by_id_number_or_student_number_and_reports_each_file(ctx):
    a = make_pupil(name="甲")
    b = make_pupil(name="乙")
    no_xjh = make_pupil(name="丙", xjh=None)
    other_school = make_pupil(HEPING2, name="丁")
    report = photo_batch.import_zip(registrar(), zip_of({
        f"一班/{a.id_number}.jpg": jpeg(),
        f"{b.xjh.lower()}.PNG": jpeg(fmt="PNG"),
        f"{no_xjh.id_number}.jpeg": jpeg(),
        f"{a.xjh}.jpg": jpeg(),  # a second photo of 甲
        f"{other_school.id_number}.jpg": jpeg(),
        "名单.xlsx": b"PK\x03\x04",
        "123456.jpg": jpeg(),
        f"{b.id_number}-broken.jpg": b"not a photo",
        "__MACOSX/._x.jpg": b"x",
    }), "照片.zip")
    by_file = {r.filename: r for r in report.results}
    assert report.saved == 3 and report.failed == 5
    assert by_file[f"{a.id_number}.jpg"].ok and by_file[f"{b.xjh.lower()}.PNG"].ok and by_file[f"{no_xjh.id_number}.jpeg"].ok
    assert "另一个文件" in by_file[f"{a.xjh}.jpg"].message
    assert not by_file[f"{other_school.id_number}.jpg"].ok and by_file[f"{other_school.id_number}.jpg"].student_id is None
    assert "不是照片" in by_file["名单.xlsx"].message and "没有" in by_file["123456.jpg"].message
    assert photos.current(other_school.id) is None
    assert photos.current(a.id).source == BATCH


def test_a_zip_made_on_windows_with_chinese_folder_names_is_read(ctx):
    pupil = make_pupil()
    report = photo_batch.import_zip(registrar(), zip_of({f"三年级一班\\{pupil.id_number}.jpg": jpeg()}, utf8=False), "x.zip")
    assert report.saved == 1


@pytest.mark.parametrize(("data", "words"), [
    (b"", "空"),
    (b"not a zip at all", "不是 ZIP"),
    (b"PK\x03\x04broken", "损坏"),
])
def test_a_bad_zip_is_refused_and_nothing_is_saved(ctx, data, words):
    with pytest.raises(RuleViolation) as exc:
        photo_batch.import_zip(registrar(), io.BytesIO(data), "照片.zip")
    assert words in problems_of(exc)


def test_an_empty_or_oversized_zip_is_refused(ctx, monkeypatch):
    with pytest.raises(RuleViolation, match="没有照片"):
        photo_batch.import_zip(registrar(), zip_of({"__MACOSX/._a.jpg": b"x"}), "a.zip")
    monkeypatch.setattr(photo_batch, "MAX_FILES", 2)
    with pytest.raises(RuleViolation, match="最多 2 张"):
        photo_batch.import_zip(registrar(), zip_of({f"{i}.jpg": b"x" for i in range(3)}), "a.zip")


def test_an_official_cannot_upload_a_zip(ctx):
    with pytest.raises(RuleViolation):
        photo_batch.import_zip(user_of(school(HEPING1).parent), zip_of({"a.jpg": jpeg()}), "a.zip")
