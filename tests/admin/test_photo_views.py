"""学生照片 on screen (issue 16, point 1): the details page shows it, the holding school uploads it,
every user whose scope covers the pupil sees it, nobody else learns it exists; the batch ZIP page."""

from __future__ import annotations

import io
import zipfile
from types import SimpleNamespace

import pytest
from PIL import Image

from cli.realistic import HEPING1, make_pupil, school, user_of
from services import photos
from tests.services.test_photos import jpeg


def details(client, pupil) -> str:
    resp = client.get(f"/admin/student/details/?id={pupil.id}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def upload(client, pupil, data: bytes, name: str = "照片.jpg"):
    return client.post_form(f"/admin/photos/{pupil.id}/upload", {"photo": (io.BytesIO(data), name)},
                            token_from=f"/admin/student/details/?id={pupil.id}", content_type="multipart/form-data",
                            follow_redirects=True)


def test_the_school_uploads_a_photo_from_the_pupils_page(ctx, as_user):
    pupil = make_pupil(name="<b>王</b>𠮷")
    c = as_user("school-heping1")
    page = details(c, pupil)
    assert "暂无照片" in page and 'id="pupil-photo-form"' in page and "上传照片" in page
    page = upload(c, pupil, jpeg()).get_data(as_text=True)
    assert "照片已保存" in page and 'id="pupil-photo-image"' in page and "更换照片" in page
    assert "&lt;b&gt;王&lt;/b&gt;𠮷" in page and "<b>王</b>" not in page
    resp = c.get(f"/admin/photos/{pupil.id}/photo.jpg")
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg" and "no-store" in resp.headers["Cache-Control"]
    assert Image.open(io.BytesIO(resp.data)).size == (358, 441)
    assert "照片" in details(c, pupil)  # the history names the field in Chinese


def test_a_bad_file_is_refused_and_the_old_photo_stays(ctx, as_user):
    pupil = make_pupil()
    c = as_user("school-heping1")
    upload(c, pupil, jpeg())
    current = photos.current(pupil.id)
    page = upload(c, pupil, b"%PDF-1.4 not a photo %%EOF", "证明.pdf").get_data(as_text=True)
    assert "只接受 JPEG 或 PNG" in page
    assert photos.current(pupil.id).id == current.id
    page = upload(c, pupil, jpeg(80, 90), "小.jpg").get_data(as_text=True)
    assert "图片太小" in page


def test_an_upload_without_a_file_says_so(ctx, as_user):
    pupil = make_pupil()
    page = as_user("school-heping1").post_form(f"/admin/photos/{pupil.id}/upload", {},
                                               token_from=f"/admin/student/details/?id={pupil.id}",
                                               follow_redirects=True).get_data(as_text=True)
    assert "请先选择照片文件" in page


def test_officials_in_scope_see_the_photo_but_cannot_change_it(app, as_user):
    # A request context of its own (not the `ctx` fixture): Flask-Login keeps the user on `g`,
    # which a test-wide app context would share between the clients of different users.
    with app.test_request_context():
        pupil = make_pupil()
        photos.set_photo(user_of(school(HEPING1)), pupil, jpeg(), "a.jpg")
        pupil_id = pupil.id
    pupil = SimpleNamespace(id=pupil_id)
    for who in ("heping", "shenyang", "province"):
        c = as_user(who)
        page = details(c, pupil)
        assert 'id="pupil-photo-image"' in page and 'id="pupil-photo-form"' not in page
        assert c.get(f"/admin/photos/{pupil.id}/photo.jpg").status_code == 200
    resp = as_user("heping").post_form(f"/admin/photos/{pupil.id}/upload", {"photo": (io.BytesIO(jpeg()), "a.jpg")},
                                       token_from=f"/admin/student/details/?id={pupil.id}",
                                       content_type="multipart/form-data", follow_redirects=True)
    assert "只有该校工作人员" in resp.get_data(as_text=True)
    with app.test_request_context():
        assert len(photos.history(pupil.id)) == 1


@pytest.mark.parametrize("who", ["school-heping2", "shenhe", "dalian"])
def test_out_of_scope_the_photo_does_not_exist(ctx, as_user, who):
    pupil = make_pupil()
    photo = photos.set_photo(user_of(school(HEPING1)), pupil, jpeg(), "a.jpg")
    c = as_user(who)
    assert c.get(f"/admin/photos/{pupil.id}/photo.jpg").status_code == 404
    assert c.get(f"/admin/photos/{pupil.id}/photo/{photo.id}.jpg").status_code == 404
    resp = c.post_form(f"/admin/photos/{pupil.id}/upload", {"photo": (io.BytesIO(jpeg()), "a.jpg")},
                       token_from="/admin/student/", content_type="multipart/form-data")
    assert resp.status_code == 404
    assert photos.current(pupil.id).id == photo.id


def test_an_earlier_photo_is_only_shown_with_its_own_pupil(ctx, as_user):
    a, b = make_pupil(), make_pupil()
    registrar = user_of(school(HEPING1))
    pa = photos.set_photo(registrar, a, jpeg(), "a.jpg")
    c = as_user("school-heping1")
    assert c.get(f"/admin/photos/{a.id}/photo/{pa.id}.jpg").status_code == 200
    assert c.get(f"/admin/photos/{b.id}/photo/{pa.id}.jpg").status_code == 404
    assert c.get(f"/admin/photos/{b.id}/photo.jpg").status_code == 404  # no photo yet
    assert c.get("/admin/photos/99999999999999999999/photo.jpg").status_code == 404


def test_an_upload_needs_the_csrf_token(ctx, as_user):
    pupil = make_pupil()
    resp = as_user("school-heping1").post(f"/admin/photos/{pupil.id}/upload", data={"photo": (io.BytesIO(jpeg()), "a.jpg")},
                                          content_type="multipart/form-data")
    assert resp.status_code == 400 and photos.current(pupil.id) is None


def test_the_batch_page_takes_a_zip_and_shows_a_report_per_file(ctx, as_user):
    pupil = make_pupil(name="李𠮷")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(f"{pupil.id_number}.jpg", jpeg())
        z.writestr("不认识.jpg", jpeg())
    out.seek(0)
    c = as_user("school-heping1")
    page = c.get("/admin/photos/").get_data(as_text=True)
    assert "照片批量上传" in page and "身份证件号或学籍号" in page
    page = c.post_form("/admin/photos/", {"archive": (out, "一班.zip")}, content_type="multipart/form-data").get_data(as_text=True)
    assert "已保存 1 张照片，1 个文件未使用" in page and "李𠮷" in page and "不认识.jpg" in page
    assert photos.current(pupil.id) is not None


def test_a_bad_zip_on_the_page_is_a_clear_error(ctx, as_user):
    page = as_user("school-heping1").post_form("/admin/photos/", {"archive": (io.BytesIO(b"hello"), "a.zip")},
                                               content_type="multipart/form-data").get_data(as_text=True)
    assert "不是 ZIP 文件" in page


def test_the_batch_page_is_the_schools(as_user):
    assert as_user("heping").get("/admin/photos/").status_code == 404
    assert "照片批量上传" not in as_user("heping").get("/admin/").get_data(as_text=True)
    assert "照片批量上传" in as_user("school-heping1").get("/admin/").get_data(as_text=True)
    assert as_user("school-heping2").get("/admin/photos/").status_code == 200
