"""A number no integer column can hold, typed into a URL (an id or a page), is "not found" on
every screen — never the database's overflow as a 500 (SQLite OverflowError, PostgreSQL DataError)."""

from __future__ import annotations

import pytest

BIG = "99999999999999999999"


@pytest.mark.parametrize("url", [f"/admin/student/details/?id={BIG}", f"/admin/student/edit/?id={BIG}", f"/admin/school/details/?id={BIG}",
                                 f"/admin/archive/student/{BIG}", f"/admin/problems/{BIG}/", f"/admin/imports/job/{BIG}",
                                 f"/admin/certificates/{BIG}/", f"/admin/graduation/{BIG}/2027/", f"/admin/rosters/new/{BIG}.pdf",
                                 f"/admin/campaigns/{BIG}/", f"/admin/requests/?page={BIG}", f"/admin/student/?page={BIG}",
                                 f"/admin/certificates/class/?school_id={BIG}&year=2027", f"/admin/status/contact?student_id={BIG}",
                                 f"/admin/requests/{BIG}/", f"/verify/{BIG}"])
def test_a_twenty_digit_number_is_not_found(as_user, url):
    assert as_user("heping").get(url).status_code == 404
