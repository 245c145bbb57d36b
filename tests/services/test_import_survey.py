"""The upload's survey (services/imports/parse.survey): a large file is checked up to its header and its
rows counted in the sheet's XML, so that the web request hands it to the queue without parsing every
cell; the worker parses it and takes the exact count. A wrong file is still refused at once."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from extensions import db
from models.imports import DONE, ImportJob
from services.errors import RuleViolation
from services.imports import jobs, parse
from services.imports.columns import DATA_SHEET, HEADERS
from tests.helpers import HEPING1, school
from tests.services.test_imports import pupil, workbook
from tests.transfer_helpers import user


def test_the_survey_counts_the_rows_without_openpyxl_and_agrees_with_the_parse(ctx, monkeypatch):
    data = workbook([pupil(n) for n in range(1, 31)])
    exact = len(parse.parse(io.BytesIO(data)))
    monkeypatch.setattr(parse, "load_workbook", lambda *a, **k: pytest.fail("the survey parsed the workbook"))
    same, about = parse.survey(io.BytesIO(data))
    assert same == data and exact == 30 and about in (30, 31)  # the template's note row counts too


def _sheet(header: list[str | None], rows: int, *, write_only: bool) -> bytes:
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet(DATA_SHEET) if write_only else wb.active
    if not write_only:
        ws.title = DATA_SHEET
    ws.append(header)
    for n in range(rows):
        ws.append([f"值{n}"] * len(header))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("write_only", [True, False])  # inline strings, and shared strings
def test_the_header_is_read_from_either_kind_of_string_with_gaps(ctx, write_only):
    header = [*HEADERS[:3], None, *HEADERS[3:]]  # a blank column in between is absent from the XML
    _data, about = parse.survey(io.BytesIO(_sheet(header, 7, write_only=write_only)))
    assert about == 7


def test_a_wrong_header_or_not_a_workbook_is_refused_as_by_the_parse(ctx):
    wrong = _sheet(["姓名", "性别"], 3, write_only=True)
    with pytest.raises(RuleViolation) as survey_says:
        parse.survey(io.BytesIO(wrong))
    with pytest.raises(RuleViolation) as parse_says:
        parse.parse(io.BytesIO(wrong))
    assert survey_says.value.problems == parse_says.value.problems  # the same clear message, in Chinese
    with pytest.raises(RuleViolation):
        parse.survey(io.BytesIO(b"%PDF-1.4 not a workbook"))


def test_a_large_upload_is_queued_with_its_estimate_and_the_worker_takes_the_exact_count(ctx):
    rows = [pupil(n, 姓名=f"学生{chr(0x4E00 + n)}") for n in range(1, jobs.INLINE_ROWS + 11)]
    data = workbook(rows)
    _same, about = parse.survey(io.BytesIO(data))
    assert about >= jobs.INLINE_ROWS
    job = jobs.submit_upload(user("school-heping1"), school(HEPING1), "新生.xlsx", io.BytesIO(data))
    db.session.expire_all()
    done = db.session.get(ImportJob, job.id)
    assert done.status == DONE and done.total == done.processed == len(rows)  # exact, not the estimate

