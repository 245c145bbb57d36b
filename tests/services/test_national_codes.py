"""The national code tables (services/national_codes.py): our codes to the national ones and back,
names and the other spellings accepted, the 12-digit divisions."""

from __future__ import annotations

import pytest

from services import codes, national_codes
from services.national_codes import UnknownCode, division_from_national, division_to_national, parse, same_value


def test_all_56_ethnic_groups_and_the_two_others_are_national_codes_as_ours():
    table = national_codes.table("ethnicity").national
    assert len([c for c in table if int(c) <= 56]) == 56
    assert table["01"] == "汉族" and table["56"] == "基诺族" and table["97"] == "其他" and table["98"] == "外国血统中国籍人士"
    assert parse("ethnicity", "汉族") == "01" and parse("ethnicity", "1") == "01" and parse("ethnicity", "10 朝鲜族") == "10"


@pytest.mark.parametrize(("table", "ours", "national"), [
    ("id_type", "1", "1"), ("id_type", "5", "A"), ("id_type", "9", "Z"), ("id_type", "4", "8"), ("id_type", "3", "6"),
    ("health", "1", "10"), ("health", "5", "50"), ("overseas", "0", "00"), ("overseas", "4", "11"), ("overseas", "5", "51"),
    ("enroll_mode", "1", "11"), ("enroll_mode", "5", "12"), ("guardian_relation", "1", "51"), ("guardian_relation", "2", "52"),
    ("guardian_relation", "3", "60"), ("gender", "2", "2"), ("left_behind", "2", "2"), ("hukou_type", "1", "1"),
])
def test_our_codes_map_to_the_national_codes_and_back(table, ours, national):
    assert national_codes.to_national(table, ours) == national
    assert national_codes.to_ours(table, national) == ours


@pytest.mark.parametrize(("table", "written", "national"), [
    ("health", "1", "10"), ("health", "10", "10"), ("health", "健康或良好", "10"), ("health", "残疾", "50"),
    ("health", "20 一般或较弱", "20"),
    ("id_type", "居民身份证", "1"), ("id_type", "护照", "A"), ("id_type", "a", "A"), ("id_type", "户口簿", "1"),
    ("id_type", "其他", "Z"), ("nationality", "CHN", "156"), ("nationality", "156", "156"), ("nationality", "中国", "156"),
    ("overseas", "否", "00"), ("overseas", "0", "00"), ("overseas", "香港同胞亲属", "02"), ("left_behind", "单亲留守", "1"),
    ("left_behind", "双亲外出务工", "2"), ("guardian_relation", "母亲", "52"), ("guardian_relation", "外祖母", "64"),
    ("enroll_mode", "就近入学", "11"), ("enroll_mode", "相对就近入学", "12"), ("political_status", "群众", "13"),
    ("political_status", "共青团员", "03"), ("student_source", "正常入学", "1"), ("attendance_mode", "住校", "2"),
])
def test_a_cell_written_as_code_or_name_reads_as_the_national_code(table, written, national):
    assert parse(table, written) == national


def test_an_unknown_value_is_refused_and_an_empty_one_is_none():
    with pytest.raises(UnknownCode):
        parse("ethnicity", "火星族")
    with pytest.raises(UnknownCode):
        parse("id_type", "Q")
    assert parse("health", "  ") is None and parse("health", None) is None


def test_every_code_of_ours_has_a_national_code_and_comes_back_as_the_same_value():
    for name, t in national_codes.TABLES.items():
        for ours in codes.table(t.ours or name):
            national = national_codes.to_national(name, ours)
            assert national in t.national, (name, ours)
            assert same_value(name, ours, national)


def test_finer_codes_on_either_side_count_as_the_same_value_and_others_do_not():
    assert same_value("id_type", "2", "Z")  # 港澳台居民居住证 is the national 其他
    assert same_value("overseas", "1", "02")  # the national 香港同胞亲属 is our 香港同胞
    assert same_value("enroll_mode", "3", "12")
    assert not same_value("health", "1", "20")
    assert not same_value("id_type", "1", "A")
    assert not same_value("guardian_relation", "1", "52")


def test_divisions_are_padded_to_twelve_digits_and_read_from_six_or_twelve():
    assert division_to_national("210102") == "210102000000"
    assert division_from_national("210102000000") == "210102"
    assert division_from_national("210102") == "210102"
    assert division_from_national("210102003001") == "210102"  # below the county: the county is kept
    assert division_from_national("") is None
    for bad in ("21010", "2101020000", "和平区", "21010200000X"):
        with pytest.raises(UnknownCode):
            division_from_national(bad)


def test_change_types_have_national_names_and_in_and_out_fold_into_one_kind():
    assert national_codes.CHANGE_TYPE_NAMES["suspension"] == "休学"
    assert national_codes.change_kind("转入") == national_codes.change_kind("转学") == "转学"
    assert national_codes.change_kind("休学延期") == "休学"
