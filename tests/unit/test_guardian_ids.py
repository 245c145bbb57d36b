"""A guardian's 居民身份证号: GB 11643 form, check digit, a real birth date of an adult born 1930
or later — and no other rule (no division-code or stdnum birth-year check)."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ids import IdNumberError, check_guardian_id, make_check_digit, parse_resident_id
from tests.helpers import make_id

TODAY = date(2027, 1, 1)  # everyone born in 2008 is 18 by then

# Division codes an adult of a Liaoning roster really holds: current ones that stdnum dates after
# most holders' birth (和平区 "[1983-]", 浑南区 "[2014-]"), codes of divisions abolished long ago
# (沈阳市市区 until 1983, 新民县 until 1993, 新金县 until 1991, 海城县 until 1985), a county that
# kept its code (长海县), codes of other provinces, and a city-level code.
DIVISIONS = ("210102", "210112", "210120", "210121", "210222", "210322", "210224", "110101", "440301", "210100", "370283")
ADULTS = st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31))


@settings(max_examples=400, deadline=None)
@given(birth=ADULTS, division=st.sampled_from(DIVISIONS), seq=st.integers(min_value=0, max_value=999))
def test_guardians_born_1930_to_2008_are_accepted(birth, division, seq):
    number = make_id(division, birth, seq)
    assert check_guardian_id(number, today=TODAY) == number


def test_generated_sweep_of_adults_born_1930_to_2008_is_all_accepted():
    """Every month of every year, with every division code above: not one refusal."""
    refused = []
    for year in range(1930, 2009):
        for month in range(1, 13):
            for k, division in enumerate(DIVISIONS):
                number = make_id(division, date(year, month, 1 + (year + k) % 28), (year * 7 + month + k) % 1000)
                try:
                    check_guardian_id(number, today=TODAY)
                except IdNumberError:
                    refused.append(number)
    assert refused == []


def test_guardian_born_1950_is_accepted():
    # stdnum's table dates 和平区 from 1983: the pupils' check refuses this number, the guardians' must not.
    number = make_id("210102", date(1950, 6, 1), 123)
    with pytest.raises(IdNumberError):
        parse_resident_id(number)
    assert check_guardian_id(number, today=TODAY) == number


def test_guardian_with_an_abolished_division_code_is_accepted():
    number = make_id("210120", date(1975, 2, 3), 45)  # 沈阳市市区, abolished in 1983
    assert check_guardian_id(number, today=TODAY) == number


def test_lowercase_x_is_accepted_and_upper_cased():
    number = next(n for n in (make_id("210102", date(1980, 1, 1), seq) for seq in range(1000)) if n.endswith("X"))
    assert check_guardian_id(number.lower(), today=TODAY) == number


def test_guardian_born_before_1930_is_refused(ctx):
    with pytest.raises(IdNumberError, match="1930"):
        check_guardian_id(make_id("210102", date(1929, 12, 31), 11), today=TODAY)


def test_guardian_rule_has_no_age_limit_but_refuses_a_future_birth_date(ctx):
    # "born 1930 or later, and no other rule": a guardian born in December 2008 is accepted.
    assert check_guardian_id(make_id("210102", date(2008, 12, 31), 11), today=TODAY)
    with pytest.raises(IdNumberError, match="晚于今天"):
        check_guardian_id(make_id("210102", TODAY + timedelta(days=1), 11), today=TODAY)


def test_guardian_with_a_wrong_check_digit_is_refused(ctx):
    good = make_id("210102", date(1980, 1, 1), 11)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(IdNumberError, match="校验码"):
        check_guardian_id(bad, today=TODAY)


@pytest.mark.parametrize("digits", ["19800230", "19801301", "19800000"])
def test_guardian_with_an_impossible_birth_date_is_refused(ctx, digits):
    body = "210102" + digits + "011"
    with pytest.raises(IdNumberError, match="出生日期"):
        check_guardian_id(body + make_check_digit(body), today=TODAY)


@pytest.mark.parametrize("raw", ["", "12345", "21010219800101001", "2101021980010100112", "21010219800101A011"])
def test_malformed_guardian_id_is_refused(ctx, raw):
    with pytest.raises(IdNumberError):
        check_guardian_id(raw, today=TODAY)

