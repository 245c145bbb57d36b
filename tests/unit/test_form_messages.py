"""forms/i18n.py: WTForms' messages parsed once per language and handed to Flask-WTF per request."""

from __future__ import annotations

from flask import Flask, session
from flask_wtf import i18n as flask_wtf_i18n
from wtforms import StringField
from wtforms.validators import DataRequired

from forms.i18n import catalogue


def test_flask_wtf_reads_the_catalogue_kept_for_the_language(app: Flask) -> None:
    with app.test_request_context("/admin/"):
        app.preprocess_request()
        assert flask_wtf_i18n._get_translations() is catalogue("zh_Hans_CN")  # the kept one: no parse
    with app.test_request_context("/admin/"):
        session["lang"] = "en"
        app.preprocess_request()
        assert flask_wtf_i18n._get_translations() is catalogue("en")


def test_a_required_field_says_so_in_chinese(app: Flask) -> None:
    from flask_wtf import FlaskForm

    class Form(FlaskForm):
        class Meta:
            csrf = False

        name = StringField(validators=[DataRequired()])

    with app.test_request_context("/admin/", method="POST", data={"name": ""}):
        app.preprocess_request()
        form = Form()
        assert not form.validate()
        assert form.name.errors == ["该字段是必填字段。"]
