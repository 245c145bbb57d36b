"""Ids, pages and years out of any database's range in URLs and forms are a 404 or a form error, never a 500."""

from __future__ import annotations

import pytest

BIG = "99999999999999999999"


@pytest.mark.parametrize("url", [
    f"/admin/status/suspension/new?student_id={BIG}",
    f"/admin/status/absence?student_id={BIG}",
    f"/admin/status/contact?student_id={BIG}",
    f"/admin/requests/{BIG}/",
    f"/admin/requests/attachment/{BIG}",
    f"/admin/requests/correction/new?student_id={BIG}",
    f"/admin/requests/out-of-province/new?student_id={BIG}",
])
def test_an_id_too_large_for_the_database_is_404(as_user, url):
    assert as_user("school-heping1").get(url).status_code == 404


def test_a_page_number_too_large_is_an_empty_page(as_user):
    c = as_user("heping")
    assert c.get(f"/admin/status/expired?page={BIG}").status_code == 200
    assert c.get(f"/admin/status/handovers?page={BIG}").status_code == 200


def test_a_preview_year_out_of_range_is_a_form_error(as_user):
    resp = as_user("heping").get(f"/admin/promotion/?unit_code=210102&school_year={BIG}")
    assert resp.status_code == 200
