"""Actions on single records: a certificate (revoke, reissue, request a 学历证明书), a problem
record (resolve, 第七条) and the official working-day calendar (edit). Each refusal is its
service's own predicate."""

from __future__ import annotations

import typing as t

from flask_babel import lazy_gettext as _l

from models.graduation import DIPLOMA, Certificate
from models.people import User
from models.problems import ProblemRecord
from services import problems, scope, workdays
from services.certificates import issuing, revocation
from services.commands.base import Command, first_refusal
from services.errors import refusal_of


def _cert_in_scope(actor: User, cert: Certificate) -> bool:
    return scope.covers(actor, cert.scope_path)


def _proof_refusal(actor: User, cert: Certificate) -> str | None:
    return first_refusal(
        lambda: None if cert.kind == DIPLOMA else _l("A 学历证明书 replaces a lost diploma."),
        lambda: refusal_of(lambda: issuing.check_issuer(actor, cert.school)),
    )


REVOKE = Command[Certificate](
    "revoke", revocation.revoke_refusal,
    lambda a, cert, *, reason: revocation.revoke(cert, a, reason), _cert_in_scope)
REISSUE = Command[Certificate](
    "reissue", revocation.reissue_refusal,
    lambda a, cert, *, reason, note=None: revocation.reissue(cert, a, reason, note), _cert_in_scope)
# Asked on the certificate's page (the button); the request itself is opened from the pupil's record.
REQUEST_PROOF = Command[Certificate]("request_proof", _proof_refusal, lambda a, cert, **kw: None, _cert_in_scope)
CERTIFICATE_PAGE: dict[str, Command[Certificate]] = {c.name: c for c in (REVOKE, REISSUE, REQUEST_PROOF)}


def _resolve(actor: User, problem: ProblemRecord, *, how: t.Callable[[], t.Any]) -> t.Any:
    return how()


RESOLVE_PROBLEM = Command[ProblemRecord](
    "resolve", problems.resolve_refusal, _resolve, lambda a, p: scope.covers(a, p.student.scope_path))

EDIT_CALENDAR = Command[None](
    "edit_calendar", lambda a, _none: refusal_of(lambda: workdays.require_editor(a)),
    lambda a, _none, *, edit: edit())
