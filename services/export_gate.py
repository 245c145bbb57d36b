"""第二十八条: the one gate for every file that carries personal data out of the system.

Each kind of file is declared once here (`KINDS`): the endpoints that send it, what it carries
(the sensitive groups) and who may take it directly (its policy). A view asks `decide()` before
it builds a file and `mark_passed()` records on `flask.g` that the gate let this response through.
`install()` adds an `after_request` guard: any file response (an attachment, or a PDF, XLSX, CSV or
ZIP body) from a route that did not pass the gate, or from an endpoint that is not declared, is
replaced by a refusal (403, audited). A view that forgets the gate therefore sends nothing.

Approved files are produced by replaying the view in the background as the requester
(services/export_requests.py); while one is produced `g.export_request` holds the request and the
gate allows exactly that kind, with exactly the approved groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, has_request_context, render_template, request
from flask_login import current_user

from models.org import SCHOOL
from models.people import AUDIT_ADMIN, OFFICIAL_ROLE_FOR_LEVEL, SCHOOL_ROLES

if TYPE_CHECKING:
    from datetime import datetime

    from models.api_token import ApiToken
    from models.people import User

# The sensitive groups (第二十八条, PIPL 敏感个人信息) a request names; the stored codes are these keys.
ID_NUMBER, ADDRESS, GUARDIAN, HEALTH = "id_number", "address", "guardian", "health"
GROUP_LABELS = {ID_NUMBER: "身份证件号", ADDRESS: "住址", GUARDIAN: "监护人", HEALTH: "健康状况"}
ALL_GROUPS = frozenset(GROUP_LABELS)

# Policies: who may take a kind of file directly.
SCHOOL_DIRECT = "school_direct"  # a school, its own pupils, no sensitive group; anything else: request
REQUEST = "request"  # always an export request
IN_SCOPE = "in_scope"  # the one document of a procedure or an evidence file: business users, the view's scope
AUDIT = "audit"  # the audit log: the audit administrator only
REQUESTER = "requester"  # the produced file of an approved request: its requester only (the view checks)
NOT_EXPORTABLE = "none"  # lists that offer no export
PUBLIC = "public"  # no personal data: static files, the public certificate check
TOKEN = "token"  # the data API: a token issued by a unit's administrator, never a login (decide_token)

POLICY_LABELS = {
    SCHOOL_DIRECT: "学校可直接导出本校非敏感字段，其余须申请",
    REQUEST: "须经审批",
    IN_SCOPE: "办理业务的单位在权限范围内直接取用",
    AUDIT: "仅审计管理员",
    REQUESTER: "仅申请人本人",
    NOT_EXPORTABLE: "不提供导出",
    PUBLIC: "无个人信息",
    TOKEN: "数据接口令牌（敏感字段须经审批）",
}


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    endpoints: tuple[str, ...]
    policy: str
    carries: frozenset[str] = frozenset()  # the sensitive groups the file always carries
    optional: frozenset[str] = frozenset()  # the groups a request may add (the rest is masked or left out)


_LISTS_WITHOUT_EXPORT = ("authority", "calendar", "certificates", "problems", "requests", "school", "users")

KINDS: dict[str, Kind] = {k.code: k for k in (
    Kind("student_list", "学生名单", ("student.export", "archive_overdue.export"), SCHOOL_DIRECT,
         optional=ALL_GROUPS),
    Kind("graduation_roster", "毕业生名册", ("graduation.export",), SCHOOL_DIRECT, optional=frozenset({ID_NUMBER})),
    Kind("register", "花名册与登记表", ("rosters.pdf", "rosters.xlsx", "rosters.submission_file"), SCHOOL_DIRECT,
         carries=frozenset({ID_NUMBER, GUARDIAN})),
    # 班级名册 (admin/classes.py): name, gender, 学籍号 and status of one class; no sensitive group.
    Kind("class_roster", "班级名册", ("classes.roster_pdf", "classes.roster_xlsx"), SCHOOL_DIRECT),
    Kind("archive_export", "学籍档案导出", ("archive.export_xlsx", "archive.export_pdf"), REQUEST, carries=ALL_GROUPS),
    Kind("archive_backup", "学籍档案备份", ("archive.backup_download",), REQUEST, carries=ALL_GROUPS),
    Kind("certificate_batch", "证书批量打印", ("certificates.job_pdf",), SCHOOL_DIRECT),
    Kind("registrar_list", "学籍管理员名单", ("registrars.export",), SCHOOL_DIRECT),
    Kind("certificate", "证书", ("certificates.certificate_pdf",), IN_SCOPE),
    Kind("request_document", "业务表单", ("requests.print_view",), IN_SCOPE, carries=frozenset({ID_NUMBER})),
    # 致家长的通知书 (issue 16 point 6): the one letter of a granted transfer or suspension, addressed to
    # the guardians by name; printed by the schools and authorities that see the request.
    Kind("family_letter", "致家长的通知书", ("requests.family_letter",), IN_SCOPE, carries=frozenset({GUARDIAN})),
    Kind("evidence_file", "证明材料", ("archive.document_view", "problems.evidence_file", "requests.attachment_view"),
         IN_SCOPE),
    Kind("pupil_photo", "学生照片", ("photos.photo_view",), IN_SCOPE),
    # 学生学籍卡 (issue 16): a school prints its own pupils' cards without the sensitive groups (masked
    # or withheld on the card); the full card, and any card for a county or higher unit, is requested.
    Kind("student_card_pdf", "学生学籍卡", ("student_cards.card_pdf",), SCHOOL_DIRECT, optional=ALL_GROUPS),
    Kind("student_card_batch", "学生学籍卡批量打印", ("student_cards.job_pdf", "student_cards.batch_pdf"), SCHOOL_DIRECT,
         optional=ALL_GROUPS),
    # 学生卡 (issue 16, point 3): name, photo, school, class and the (masked) 学籍号 of a school's own
    # pupils; no sensitive group (never the ID number). Printed by the pupil's school, like the 班级名册.
    Kind("pupil_card_sheet", "学生卡", ("pupil_cards.pupil_sheet", "pupil_cards.class_sheet", "pupil_cards.selected_sheet"),
         SCHOOL_DIRECT),
    # 全国学籍对接 (issue 16, point 4): the national basic-information file carries every sensitive
    # group (ID numbers, addresses, guardians, health), like the archive export: always requested.
    # The changes file names pupils with their ID numbers, like the registers: a request too.
    Kind("national_basic", "全国学籍基础信息表", ("national.basic_xlsx",), REQUEST, carries=ALL_GROUPS),
    Kind("national_changes", "学籍变动表（全国学籍对接）", ("national.changes_xlsx",), SCHOOL_DIRECT,
         carries=frozenset({ID_NUMBER})),
    Kind("import_report", "导入模板与错误报告", ("imports.template", "imports.job_errors"), IN_SCOPE),
    Kind("audit_log", "审计日志", ("audit.export",), AUDIT),
    Kind("approved_export", "已批准的导出文件", ("export_requests.download",), REQUESTER),
    # 数据接口 (api/, issue 16 point 5): JSON, not files, so the after_request guard never sees it; each
    # call asks decide_token(). A request of this kind names the groups a token may then show in full.
    Kind("api", "数据接口", ("api.pupils", "api.pupil", "api.requests", "api.changes"), TOKEN, optional=ALL_GROUPS),
    Kind("other_list", "其他列表", tuple(f"{name}.export" for name in _LISTS_WITHOUT_EXPORT), NOT_EXPORTABLE),
    Kind("public", "公开页面与静态文件", ("public.verify", "public.verify_form", "public.verify_card", "static", "admin.static",
                                         "security.static"), PUBLIC),
)}
ENDPOINT_KIND: dict[str, Kind] = {ep: kind for kind in KINDS.values() for ep in kind.endpoints}
REQUESTABLE = frozenset(code for code, kind in KINDS.items() if kind.policy in (SCHOOL_DIRECT, REQUEST, TOKEN))
API = "api"
# A request of these kinds is not a file to produce: its approval is what a token refers to.
NOT_PRODUCED = frozenset({API})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    needs_request: bool = False
    reason: str = ""
    groups: frozenset[str] = frozenset()  # the groups the file may carry in full


def is_business_user(actor: User) -> bool:
    """A school or an education authority: the accounts that work with pupils' records (三员分立:
    the system, security and audit administrators read no pupil data)."""
    return bool(actor.role_names & (set(SCHOOL_ROLES) | set(OFFICIAL_ROLE_FOR_LEVEL.values())))


def _producing(kind: Kind) -> Any:
    req = g.get("export_request") if has_request_context() else None
    return req if req is not None and req.kind == kind.code else None


def decide(actor: User | None, kind_code: str, groups: Iterable[str] = (), personal: bool = True) -> Decision:
    """May `actor` take a file of `kind_code` now, carrying `groups` (beyond the kind's own)?

    `personal` is False for a file that names no pupil (an aggregate count table).
    """
    kind = KINDS[kind_code]
    asked = frozenset(groups) | kind.carries
    if kind.policy == PUBLIC:
        return Decision(True)
    if kind.policy == TOKEN:  # a session never opens the API (decide_token)
        return Decision(False, reason="数据接口只接受令牌。")
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.active:
        return Decision(False, reason="请先登录。")
    produced = _producing(kind)
    if produced is not None:  # replaying an approved request: exactly what was approved
        return Decision(True, groups=frozenset(produced.field_codes))
    if kind.policy == NOT_EXPORTABLE:
        return Decision(False, reason="此列表不提供导出。")
    if kind.policy == AUDIT:
        ok = AUDIT_ADMIN in actor.role_names
        return Decision(ok, reason="" if ok else "审计日志仅审计管理员可以导出。", groups=ALL_GROUPS if ok else frozenset())
    if not is_business_user(actor):
        return Decision(False, reason="本账号不处理学生数据，不能导出含个人信息的文件（三员分立）。")
    if kind.policy in (IN_SCOPE, REQUESTER):
        return Decision(True, groups=asked)
    if kind.policy == SCHOOL_DIRECT and (not personal or (actor.unit.level == SCHOOL and not asked)):
        return Decision(True)
    return Decision(False, needs_request=True,
                    reason="导出含敏感个人信息的数据或县级以上单位的导出，须提交数据导出申请并经审批（第二十八条）。")


def decide_token(token: ApiToken | None, moment: datetime) -> Decision:
    """May this API token read now, and which sensitive groups does it show in full?

    A revoked or expired token reads nothing. The groups are those named at issue, and only while
    the 数据导出申请 of kind "api" they came from stands approved for them (its status is 已批准);
    otherwise every sensitive value is masked or withheld, as in a direct export."""
    from models.export_request import APPROVED

    if token is None or not token.usable_at(moment):
        return Decision(False, reason="令牌无效、已过期或已吊销。")
    req = token.export_request
    if req is None or req.kind != API or req.status != APPROVED or not token.scope_path.startswith(req.scope_path):
        return Decision(True)
    return Decision(True, groups=frozenset(token.group_codes) & frozenset(req.field_codes))


def mark_passed(kind_code: str) -> None:
    """The gate allowed this response's file (the after_request guard checks it)."""
    g.export_passed = kind_code


def approved_groups() -> frozenset[str]:
    """The groups an approved request being produced may show in full (empty for a direct export)."""
    req = g.get("export_request") if has_request_context() else None
    return frozenset(req.field_codes) if req is not None else frozenset()


def banner() -> str | None:
    """The watermark line of the request being produced, if any."""
    req = g.get("export_request") if has_request_context() else None
    return req.banner() if req is not None else None


FILE_MIMETYPES = (
    "application/pdf", "application/zip", "text/csv", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument", "application/octet-stream",
)


def is_file_response(resp: Response) -> bool:
    disposition = resp.headers.get("Content-Disposition", "").lower()
    return disposition.startswith("attachment") or (resp.mimetype or "").startswith(FILE_MIMETYPES)


def _guard(resp: Response) -> Response:
    if not is_file_response(resp):
        return resp
    endpoint = request.endpoint or ""
    kind = ENDPOINT_KIND.get(endpoint)
    if kind is not None and kind.policy == PUBLIC:
        return resp
    if kind is not None and g.get("export_passed") == kind.code:
        from extensions import db

        if db.session.new:  # the register line and audit row of admin/gate.py, now that the file goes
            db.session.commit()  # (views that stream rows commit before they build the stream)
        return resp
    actor = current_user if current_user.is_authenticated else None
    if kind is not None and kind.policy == IN_SCOPE and decide(actor, kind.code).allowed:
        return resp  # the view's own scope check governs these single documents
    resp.close()
    return refusal(actor, kind.code if kind else endpoint, "此文件未经数据导出审查，不能下载（第二十八条）。")


def refusal(actor: Any, what: str, reason: str) -> Response:
    """403 with a Chinese page; the refusal is audited."""
    from extensions import db
    from services import audit

    if actor is not None:
        kind = KINDS.get(what)  # a kind of file by its name; an undeclared endpoint as it is
        audit.record(actor, "export.refused", "export", None, f"{kind.label if kind else what}（{request.path}）"[:400])
        db.session.commit()
    body = render_template("error.html", code=403, title="不能导出", message=reason)
    return Response(body, status=403, mimetype="text/html")


def install(app: Flask) -> None:
    app.after_request(_guard)
