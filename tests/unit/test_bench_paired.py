"""bench/paired.py's verdicts (the timings themselves are the benchmark's, not a test's)."""

from __future__ import annotations

from bench.paired import report


def _row(small_project: float, small_stock: float, large_project: float, large_stock: float) -> dict:
    def v(ms: float) -> dict:
        return {"median": ms, "p90": ms * 1.2, "best": ms * 0.8, "cpu_median": ms * 0.9, "runs": [ms]}

    return {"small_project": v(small_project), "small_stock": v(small_stock),
            "large_project": v(large_project), "large_stock": v(large_stock)}


def test_both_targets_met_and_not_met() -> None:
    met = {"runs": 40, "loadavg_end": 0.5, "levels": {"school": _row(10, 30, 11, 33), "county": _row(10, 30, 12, 40)}}
    text = report(met)
    assert "target 4 (3M, stock ÷ project ≥ 3): school 3.00x, county 3.33x — MET" in text
    assert "target 5 (project 3M ÷ 30k ≤ 1.2): school 1.10x, county 1.20x — MET" in text
    missed = {"runs": 40, "loadavg_end": 0.5, "levels": {"school": _row(10, 20, 13, 26)}}
    text = report(missed)
    assert "school 2.00x — NOT MET" in text and "school 1.30x — NOT MET" in text


def test_the_page_rendered_in_full_is_reported_beside_the_verdicts() -> None:
    row = _row(10, 30, 11, 33)
    row["large_project_unkept"] = {"median": 16.5, "p90": 18, "best": 15, "cpu_median": 15, "runs": [16.5]}
    text = report({"runs": 40, "loadavg_end": 0.5, "levels": {"school": row}})
    assert "3M, the frame not kept (a first visit to a URL): school 16.5 ms, stock ÷ it 2.00x" in text
