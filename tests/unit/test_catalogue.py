"""The Chinese catalogue (translations/zh_Hans_CN/LC_MESSAGES/messages.po) compiles cleanly: branches
append to it and git merges it by union, so the same msgid can arrive twice. pybabel keeps the last
copy silently (and `msgfmt --check` refuses the file), so a second translation could quietly win."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[2] / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def msgids(text: str) -> list[str]:
    """Each entry's (msgctxt, msgid) in file order, continuation lines joined."""
    found: list[str] = []
    key: str | None = None
    context = ""
    for line in text.splitlines():
        if line.startswith("msgctxt "):
            context = ast.literal_eval(line[8:])
        elif line.startswith("msgid "):
            key = ast.literal_eval(line[6:])
        elif line.startswith('"') and key is not None:
            key += ast.literal_eval(line)
        else:
            if key is not None:
                found.append(f"{context}\x04{key}")
                context = ""
            key = None
    return found


def test_no_message_is_translated_twice():
    ids = msgids(CATALOGUE.read_text(encoding="utf-8"))
    assert len(ids) > 1000
    twice = [m.replace("\x04", "") for m, n in Counter(ids).items() if n > 1 and m != "\x04"]
    assert twice == []
