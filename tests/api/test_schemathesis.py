"""The data API against its own OpenAPI document (schemathesis, through WSGI): for generated
requests of every operation, with a valid token, no answer is a server error and every answer
conforms to the document (status code, content type, headers, body); without the token, 401."""

from __future__ import annotations

import typing as t

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.openapi import document
from tests.api.helpers import approved_api_request, bearer, issue
from tests.builders import RARE_NAMES, make_pupil
from tests.conftest import end_extended_demo, extend_demo
from tests.helpers import HEPING1

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, ignored_auth, negative_data_rejection]


def _tokens() -> dict[str, str]:
    """A county token that shows approved groups, and a school's plain one; pupils without 学籍号
    and with rare characters among the rows they read."""
    from datetime import date

    make_pupil(HEPING1, name=RARE_NAMES[0], xjh=None, bare=True, birth_date=date(2016, 12, 31))
    make_pupil(HEPING1, name="<i>李</i>", xjh=None, birth_date=date(2017, 1, 1))
    req = approved_api_request(fields=("id_number", "guardian", "address", "health"))
    return {"county": issue("210102", groups=("id_number", "guardian", "address", "health"), request=req),
            "school": issue(HEPING1)}


@pytest.fixture(scope="module")
def tokens(app: Flask) -> t.Iterator[dict[str, str]]:
    yield extend_demo(app, _tokens)
    end_extended_demo()


# The document as the app serves it (test_the_served_document_is_the_one_tested checks they are one).
# Loaded from the module rather than through a fixture (schemathesis.pytest.from_fixture): the lazy
# loader of schemathesis 4.32 sets a private attribute that pytest 9 nodes no longer have.
schema = schemathesis.openapi.from_dict(document())


def test_the_served_document_is_the_one_tested(app: Flask) -> None:
    assert app.test_client().get("/api/v1/openapi.json").json == document()


def _call(case: t.Any, app: Flask, secret: str) -> None:
    """Through WSGI: the app is set on the schema too, so that the checks' own probes (ignored_auth
    sends the request again without the token) reach it in-process as well."""
    case.operation.schema.app = app
    case.call_and_validate(app=app, base_url="http://localhost", headers=bearer(secret), checks=CHECKS)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_county_token_with_approved_groups_keeps_the_document(case: t.Any, app: Flask, tokens: dict[str, str]) -> None:
    _call(case, app, tokens["county"])


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_school_token_with_masked_values_keeps_the_document(case: t.Any, app: Flask, tokens: dict[str, str]) -> None:
    _call(case, app, tokens["school"])
