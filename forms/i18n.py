"""WTForms' own messages (这是必填项 …) loaded once per language, not once per request (issue 15, point 8).

Flask-WTF translates WTForms' built-in messages with a catalogue it reads from disk and parses on
the first form of every request (`flask_wtf.i18n._get_translations`: babel `Translations.load`,
~0.4 ms), then keeps on `request.wtforms_translations` for the rest of that request. Every list
page builds a form (the bulk actions), so every list page paid it. Here the parsed catalogue is
kept per language for the process and handed to Flask-WTF through that same request attribute
before the view runs; tests/unit/test_form_messages.py checks that Flask-WTF still reads it and
that the messages are still Chinese.
"""

from __future__ import annotations

from functools import lru_cache

from babel import support
from flask import Flask, request
from flask_babel import get_locale
from wtforms.i18n import messages_path

REQUEST_ATTRIBUTE = "wtforms_translations"  # where flask_wtf.i18n looks first


@lru_cache(maxsize=8)
def catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def _hand_over() -> None:
    if request.method != "OPTIONS":
        setattr(request, REQUEST_ATTRIBUTE, catalogue(str(get_locale())))


def install(app: Flask) -> None:
    app.before_request(_hand_over)
