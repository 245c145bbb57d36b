"""Findings of the words crawl (tests/e2e/test_crawl_words.py) on pages no other part of issue 14
touches: the school's page names its level, the school form's empty choices are not "__None", and
the dashboard's charts are not called "Pygal" (their tooltip)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from extensions import db
from models.org import OrgUnit


def _school_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "2121000001"))  # 沈阳市和平区第一小学


def test_school_details_names_the_level_not_its_code(app: Flask, as_user) -> None:
    html = as_user("heping").get(f"/admin/school/details/?id={_school_id(app)}").get_data(as_text=True)
    assert ">学校<" in html.replace("\n", "").replace(" ", "")
    assert ">school<" not in html.replace("\n", "").replace(" ", "")


def test_school_form_offers_an_empty_choice_in_words(app: Flask, as_user) -> None:
    client = as_user("heping")
    for url in ("/admin/school/new/", f"/admin/school/edit/?id={_school_id(app)}"):
        html = client.get(url).get_data(as_text=True)
        assert ">__None<" not in html, url
        assert 'value="__None">（无）</option>' in html, url


def test_dashboard_charts_are_not_called_pygal(as_user) -> None:
    html = as_user("heping").get("/admin/").get_data(as_text=True)
    assert 'id="dash-grade-chart"' in html and "<svg" in html
    assert "Pygal" not in html
    assert "<title>统计图</title>" in html
