from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ids import (
    IdNumberError,
    check_against_record,
    division_name,
    make_check_digit,
    mask_id,
    mask_xjh,
    parse_resident_id,
    temporary_xjh,
    xjh_from_id,
)
from tests.helpers import make_id

VALID = make_id("210102", date(2017, 3, 15), 111)  # odd sequence → male


def test_valid_id_is_parsed(ctx):
    rid = parse_resident_id(VALID)
    assert rid.birth_date == date(2017, 3, 15)
    assert rid.gender == "1"
    assert rid.division == "210102"


def test_lowercase_x_check_digit_is_accepted(ctx):
    for seq in range(1000):
        body = f"210102201703150{seq:02d}"[:17]
        if make_check_digit(body) == "X":
            assert parse_resident_id(body + "x").number.endswith("X")
            return
    pytest.fail("no X check digit found")


@pytest.mark.parametrize(
    "bad, why",
    [
        ("21010220170315111", "18 位"),
        (VALID[:-1] + ("0" if VALID[-1] != "0" else "1"), "校验码"),
        ("2101022017A315111" + "1", "数字"),
    ],
)
def test_malformed_id_is_refused(ctx, bad, why):
    with pytest.raises(IdNumberError, match=why):
        parse_resident_id(bad)


def test_id_with_impossible_birth_date_is_refused(ctx):
    body = "21010220170231001"
    with pytest.raises(IdNumberError, match="出生日期无效"):
        parse_resident_id(body + make_check_digit(body))


def test_id_with_unknown_division_code_is_refused(ctx):
    body = "99999920170315001"
    with pytest.raises(IdNumberError, match="行政区划代码"):
        parse_resident_id(body + make_check_digit(body))


def test_birth_date_must_equal_the_record(ctx):
    rid = parse_resident_id(VALID)
    problems = check_against_record(rid, date(2017, 3, 16), "1")
    assert [f for f, _ in problems] == ["birth_date"]


def test_gender_parity_must_match(ctx):
    rid = parse_resident_id(VALID)
    assert [f for f, _ in check_against_record(rid, date(2017, 3, 15), "2")] == ["gender"]
    assert check_against_record(rid, date(2017, 3, 15), "1") == []


def test_xjh_is_g_plus_id_and_temporary_numbers_are_j():
    assert xjh_from_id(VALID) == "G" + VALID
    assert temporary_xjh(date(2017, 3, 15), 42) == "J212017031500000042"
    assert temporary_xjh(date(2017, 3, 15), 42) != temporary_xjh(date(2017, 3, 15), 43)


def test_mask_id_keeps_division_and_last_four():
    assert mask_id("210102201703151234") == "210102********1234"
    assert mask_id(None) == ""
    assert mask_xjh("G210102201703151234") == "G210102********1234"
    assert mask_xjh("J212017031500000042") == "J212017031500000042"


def test_division_names_come_from_gbt2260():
    assert division_name("210102") == "辽宁省和平区"
    assert division_name("999999") is None
    assert division_name("abc") is None


@given(st.text(max_size=25))
def test_any_text_gives_an_id_or_a_clear_error(text):
    from flask import Flask
    from flask_babel import Babel

    app = Flask(__name__)
    Babel(app)
    with app.app_context():
        try:
            rid = parse_resident_id(text)
        except IdNumberError as exc:
            assert str(exc)
        else:
            assert len(rid.number) == 18


# 和平区 has had code 210102 since 1983; stdnum knows when each code was valid.
@given(st.dates(min_value=date(1984, 1, 1), max_value=date(2025, 12, 31)), st.integers(0, 999))
def test_every_generated_valid_id_round_trips(birth, seq):
    number = make_id("210102", birth, seq)
    from flask import Flask
    from flask_babel import Babel

    app = Flask(__name__)
    Babel(app)
    with app.app_context():
        rid = parse_resident_id(number)
    assert rid.birth_date == birth
    assert rid.gender == ("1" if seq % 2 else "2")


def test_division_code_of_a_whole_city_is_refused_not_a_crash(ctx):
    body = "21019920170315001"
    with pytest.raises(IdNumberError):
        parse_resident_id(body + make_check_digit(body))
