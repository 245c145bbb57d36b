import pytest
from sqlalchemy import column, select

from services.scope import path_upper_bound, within


def test_upper_bound_raises_the_final_slash():
    assert path_upper_bound("/21/2101/") == "/21/21010"


def test_path_without_trailing_slash_is_a_programming_error():
    with pytest.raises(ValueError):
        path_upper_bound("/21/2101")


@pytest.mark.parametrize(
    "row, inside",
    [
        ("/21/2101/210102/2121000001/", True),
        ("/21/2101/", True),
        ("/21/21010/", False),  # a sibling whose code merely starts with the same digits
        ("/21/2102/210203/2321000004/", False),
        ("/21/", False),
    ],
)
def test_range_is_exactly_the_subtree(row, inside):
    lo, hi = "/21/2101/", path_upper_bound("/21/2101/")
    assert (lo <= row < hi) is inside


def test_within_compiles_to_an_index_friendly_range():
    sql = str(select(column("p")).where(within(column("p"), "/21/")).compile(compile_kwargs={"literal_binds": True}))
    assert "p >= '/21/'" in sql and "p < '/210'" in sql


def test_a_school_scope_is_an_equality():
    sql = str(select(column("p")).where(within(column("p"), "/21/2101/210102/2121000001/")).compile())
    assert "p = " in sql


@pytest.mark.parametrize("path, n", [("/21/2101/", 9), ("/21/2101/210102/", 16)])
def test_city_and_county_listing_uses_the_fixed_length_prefix(path, n):
    from services.scope import listing

    sql = str(select(column("p")).where(listing(column("p"), path)).compile(compile_kwargs={"literal_binds": True}))
    assert f"substr(p, 1, {n}) = '{path}'" in sql
