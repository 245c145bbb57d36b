"""A change type is one unit: everything it owns is declared by its module of changes/, and what
other code reads of it (the register's columns, the printed forms, the request page's facts, the
payload) comes from that declaration."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

import changes
from forms.request_pages import RequestPage
from services import documents, workflows
from services.payloads import NoPayload, Payload, PayloadError
from services.rosters.registers import COLUMN, FROM, TO, columns_for


def test_every_type_is_declared_by_one_module_of_changes():
    modules = {m.__name__ for m in changes.MODULES}
    assert set(workflows.DECLARED_IN) == set(workflows.TYPES)
    assert set(workflows.DECLARED_IN.values()) == modules


@pytest.mark.parametrize("code", sorted(workflows.TYPES))
def test_each_type_declares_a_payload_and_its_facts_read_declared_keys(code):
    ctype = workflows.TYPES[code]
    assert ctype.payload is not None and issubclass(ctype.payload, Payload), code
    fields = {f.name for f in dataclasses.fields(ctype.payload)}
    assert {fact.key for fact in ctype.facts} <= fields, code


@pytest.mark.parametrize("code", sorted(workflows.TYPES))
def test_register_columns_and_printed_forms_name_what_exists(code):
    ctype = workflows.TYPES[code]
    assert all(column in COLUMN and end in (TO, FROM) for column, end in ctype.roster_columns), code
    assert set(ctype.printable_forms) <= set(documents.APPLICATION_FORMS), code


def test_the_register_counts_each_type_where_its_module_says():
    assert columns_for(TO)["transfer"].code == "transfer_in" and columns_for(FROM)["transfer"].code == "transfer_out"
    assert "special_attend" not in columns_for(TO)  # the record stays: nothing moves between registers
    assert "class_change" not in columns_for(TO) and "class_change" not in columns_for(FROM)


def test_request_pages_open_their_own_types():
    pages = {code: ctype.page for code, ctype in workflows.TYPES.items() if ctype.page is not None}
    assert {"suspension", "death", "dropout", "class_change", "special_move"} <= set(pages)
    for code, page in pages.items():
        assert isinstance(page, RequestPage) and page.types[0] == code and set(page.types) <= set(workflows.TYPES)


def test_a_payload_is_checked_before_it_is_stored():
    assert workflows.checked_payload("suspension", {"reason_kind": "illness", "starts_on": date(2026, 9, 1),
                                                    "ends_on": "2027-08-31"}) == {
        "reason_kind": "illness", "starts_on": "2026-09-01", "ends_on": "2027-08-31"}
    with pytest.raises(PayloadError, match="undeclared"):
        workflows.checked_payload("suspension", {"reason_kind": "illness", "colour": "red"})
    with pytest.raises(PayloadError, match="date"):
        workflows.checked_payload("suspension", {"starts_on": "next monday"})
    with pytest.raises(PayloadError, match="whole number"):
        workflows.checked_payload("resumption", {"grade": "3"})
    with pytest.raises(PayloadError, match="yes/no"):
        workflows.checked_payload("transfer", {"hukou_changed": "yes"})
    with pytest.raises(PayloadError, match="required"):
        workflows.checked_payload("class_change", {"from_class": "1班"})
    with pytest.raises(PayloadError):
        workflows.checked_payload("enrollment", {"anything": 1})


def test_a_stored_payload_reads_typed_and_tolerates_old_keys():
    class Req:
        type = "death"
        payload = {"died_on": "2026-02-16", "late_workdays": 2, "from_an_old_version": True}

    death = workflows.payload_of(Req())  # type: ignore[arg-type]
    assert death.died_on == date(2026, 2, 16) and death.late_workdays == 2 and death.report_due_on is None


def test_no_payload_accepts_nothing():
    assert NoPayload.parse({}).dump() == {}
    with pytest.raises(PayloadError):
        NoPayload.parse({"x": 1})


def test_the_pupils_page_offers_what_each_type_declares():
    from services.commands.pupils import STATUS_CHANGES, kinds_for

    assert kinds_for("enrolled") == ["suspension", "abroad", "death", "dropout", "juvenile_placement", "special_move"]
    assert kinds_for("suspended") == ["suspension_extension", "resumption", "death"]
    assert kinds_for("abroad") == ["abroad_return", "death"] and kinds_for("dropped_out") == ["death", "dropout_return"]
    assert kinds_for("graduated") == []
    assert set(STATUS_CHANGES) == {c for c, t in workflows.TYPES.items() if t.page is not None}
    with pytest.raises(KeyError):
        STATUS_CHANGES["graduation"]  # no page: opened from the roster
