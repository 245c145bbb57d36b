"""bench/generate.py's allocation: exactly n pupils, proportional to the schools' weights, and the
bench school topped up to a page and a half at every size, so that target 5 compares two pages
of 20 rows (at its share of 30,000 it had 5 pupils)."""

from __future__ import annotations

import random

import pytest

from bench.generate import BENCH_SCHOOL_MIN_PUPILS, SEED, allocate, bench_school, plan_tree


def _allocated(n: int):
    _cities, _counties, schools = plan_tree(random.Random(SEED))
    allocate(schools, n)
    return schools


@pytest.mark.parametrize("n", [30_000, 3_000_000])
def test_every_pupil_has_a_school_and_the_bench_school_fills_a_page(n: int) -> None:
    schools = _allocated(n)
    assert sum(s.pupils for s in schools) == n
    school = bench_school(schools)
    assert school.pupils >= BENCH_SCHOOL_MIN_PUPILS > 20
    assert school.code == "2121005287"  # the same school at every size (bench/README.md)


def test_the_top_up_leaves_a_large_province_as_it_was() -> None:
    """At 3M the bench school's own share (500) is more than a page: nothing is moved."""
    schools = _allocated(3_000_000)
    assert bench_school(schools).pupils == 500


def test_a_province_smaller_than_its_schools_is_allocated_without_a_top_up() -> None:
    schools = _allocated(10)
    assert sum(s.pupils for s in schools) == 10
