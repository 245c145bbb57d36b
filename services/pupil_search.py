"""Finding a pupil from one search box (issue 14, point 4): by name, by the tail of the ID number
or 学籍号, by a guardian's phone — in every status; the caller adds the row scope.

What a registrar types is read as one of a few kinds (`classify`):

* an 18-character ID number or a full 学籍号 (G + ID number, J + 18 digits): that record only;
* 4 to 6 digits (the last may be X): the end of an ID number or 学籍号;
* 7 to 11 digits: a guardian's phone (exact);
* anything else: part of the name (王小明 is found by 小明, by 王 or by 小).

Spaces go (but one between two Latin letters), full-width digits and letters become ASCII (NFKC);
names are compared in lower case, ID numbers and 学籍号 in upper case.

How each kind stays fast at 3M pupils (bench/README.md, "Search"), on PostgreSQL
(migration u4_saved_filters creates the indexes; SQLite has none of them and scans its rows):

* name, 3 characters or more: `lower(name) LIKE '%…%'` over the trigram index ix_student_name_trgm;
* name, 2 characters: pg_trgm finds no trigram in "%小明%" (a trigram needs three characters or a
  word boundary), so a LIKE would read every row. Those go to the GIN index ix_student_name_grams
  on xueji_name_grams(name), the name's characters and character pairs;
* name, 1 character: in a few % of all names, so no index is worth it (the GIN posting list of one
  common character is ~85,000 rows at 3M; tried: 6 s for a county, bench/README.md). The list walks
  its scope's index newest first and stops at 20 matches; a county's COUNT reads its pupils;
* tails: `reverse(id_number) LIKE '4321%'`, a prefix of ix_student_id_number_rev
  (and ix_student_xjh_rev);
* phone: ix_guardian_phone, then the pupil by its primary key.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ARRAY, Text, cast, func, or_, select
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.sql.elements import ColumnElement

from models.student import Guardian, Student

MAX_TERM = 50
NAME, TAIL, PHONE, EXACT = "name", "tail", "phone", "exact"
_SPACES = re.compile(r"\s+")
_INNER_SPACE = re.compile(r"(?<![A-Za-z]) | (?![A-Za-z])")
_TAIL = re.compile(r"\d{3,5}[\dX]")  # 4–6 characters, only the last may be the check character X
_DIGITS = re.compile(r"\d{7,11}")
_FULL_ID = re.compile(r"\d{17}[\dX]|\d{15}")
_FULL_XJH = re.compile(r"G(\d{17}[\dX]|\d{15})|J\d{18}")  # services/ids.py: G + ID, J + 18 digits


@dataclass(frozen=True)
class Term:
    kind: str  # NAME, TAIL, PHONE or EXACT
    text: str


def normalise(raw: str | None) -> str:
    """Full-width characters to ASCII (NFKC, the full-width space too); spaces out, except one
    between two Latin letters (a name like "Anna Lee" keeps it; "王 小明" and "139 1234" lose theirs)."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", raw or "")).strip()
    return _INNER_SPACE.sub("", text)[:MAX_TERM]


def classify(raw: str | None) -> Term | None:
    typed = normalise(raw)
    if not typed:
        return None
    text = typed.upper()  # x → X in ID numbers, g → G in 学籍号
    if _FULL_ID.fullmatch(text) or _FULL_XJH.fullmatch(text):
        return Term(EXACT, text)
    if _TAIL.fullmatch(text):
        return Term(TAIL, text)
    if _DIGITS.fullmatch(text):
        return Term(PHONE, text)
    return Term(NAME, typed)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name_condition(text: str, dialect: str) -> ColumnElement[bool]:
    # lower() on both sides: a Latin name is found whatever its case (SQLite's LIKE already is).
    contains = func.lower(Student.name).like(f"%{_escape_like(text.lower())}%", escape="\\")
    if dialect != "postgresql" or len(text) != 2 or text.lower() != text.upper():
        # 3+ characters: ix_student_name_trgm (on lower(name)). One character: no index helps, it is
        # in a few % of all names: the list walks its scope's index newest first and stops at 20.
        return contains
    # Two Chinese characters: the character-pair index finds the rows, the LIKE is exact.
    grams = func.xueji_name_grams(Student.name).op("@>")(cast(array([text]), ARRAY(Text)))
    return grams & contains


def _tail_condition(tail: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":  # a prefix of the reversed number: a range of ix_*_rev
        pattern = tail[::-1] + "%"
        return or_(func.reverse(Student.id_number).like(pattern), func.reverse(Student.xjh).like(pattern))
    # SQLite has no reverse(); it reads the rows of the scope (bench/README.md, "Search").
    return or_(Student.id_number.like("%" + tail), Student.xjh.like("%" + tail))


def condition(raw: str | None, dialect: str) -> ColumnElement[bool] | None:
    """The WHERE condition for a search box's text, None when there is nothing to search."""
    term = classify(raw)
    if term is None:
        return None
    if term.kind == EXACT:
        return or_(Student.id_number == term.text, Student.xjh == term.text)
    if term.kind == TAIL:
        return _tail_condition(term.text, dialect)
    if term.kind == PHONE:
        # Alone (an OR beside it would turn the semi-join into a filter on every row in scope).
        return Student.id.in_(select(Guardian.student_id).where(Guardian.phone == term.text))
    return _name_condition(term.text, dialect)
