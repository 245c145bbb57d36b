"""Builders of realistic test data: pupils with or without a 学籍号, a class, guardians or optional
items; guardians of every age; requests of any declared type in any state.

Plain functions over cli/realistic.py (the same code makes `flask --app app demo-data --realistic N`),
for use inside an app context after the demo province is loaded (tests/conftest.py does that):

    pupil = make_pupil(name="阿卜杜热合曼·买买提艾力", xjh=None, class_name=None, guardians=[])
    req = make_request("transfer_in_province", state="overdue")
    for state in states_of("suspension"): ...
"""

from __future__ import annotations

from cli.realistic import (
    DOT_NAMES,
    LEAP_DAYS,
    RARE_NAMES,
    TURN_OF_YEAR,
    make_guardian,
    make_pupil,
    make_request,
    official_above,
    requests_in_every_state,
    states_of,
    user_of,
)

__all__ = [
    "DOT_NAMES", "LEAP_DAYS", "RARE_NAMES", "TURN_OF_YEAR", "make_guardian", "make_pupil", "make_request",
    "official_above", "requests_in_every_state", "states_of", "user_of",
]
