"""Flask-Admin wiring: every view is a scoped subclass from admin/base.py."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin, expose
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_security import current_user

from admin import certificates, graduation, menu, saved_filters, static_urls, statistics
from admin.access_review import AccessReviewView
from admin.api_tokens import ApiTokenView
from admin.archive import ArchiveView
from admin.audit import AuditView
from admin.base import PupilDataLink, SecureIndexView, current_actor
from admin.calendar import CalendarDayView, OfficialNoticeView
from admin.changes import ChangeRequestView
from admin.classes import ClassView
from admin.export_requests import MENU as EXPORT_MENU
from admin.export_requests import ExportMenuLink, ExportRequestView
from admin.imports import ImportView
from admin.inbox import InboxView
from admin.national import NationalView
from admin.org import AuthorityView, SchoolView
from admin.paper import PaperView, register_globals
from admin.photos import PhotoView
from admin.problems import MENU_NAME, ProblemRecordView
from admin.promotion import PromotionView
from admin.pupil_cards import PupilCardView
from admin.registrars import RegistrarView
from admin.reports import ArchiveOverdueView
from admin.statistics.dashboard import dashboard_context
from admin.status import StatusView
from admin.student_cards import StudentCardView
from admin.students import StudentView
from admin.users import UserView
from models.org import OrgUnit
from models.people import ROLE_LABELS
from services import export_gate
from services.duties import reads_pupils
from services.headers import csp_nonce
from services.home import home_of


class HomeView(SecureIndexView):
    """首页: who I am, my queues and notifications, and the dashboard of my area (admin/statistics/dashboard.py)."""

    @expose("/")
    def index(self):
        actor = current_actor()
        roles = "、".join(ROLE_LABELS.get(r, r) for r in sorted(actor.role_names))
        if not reads_pupils(actor):  # 三员分立: no queues, counts or dashboards of pupils
            return self.render("admin/home_duties.html", actor=actor, roles=roles, duties=sorted(actor.role_names))
        home = home_of(actor)
        return self.render("admin/home.html", actor=actor, roles=roles, schools=home.schools,
                           queues=home.queues, notes=home.notes, **dashboard_context(actor))


DROPOUT_LIST_URL = "/admin/student/?flt0_3=dropped_out"


def init_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name="学籍通",
        index_view=HomeView(name=_l("Home"), url="/admin"),
        theme=Bootstrap4Theme(fluid=True),
        csp_nonce_generator=csp_nonce,  # the nonce of the Content-Security-Policy (services/headers.py)
    )
    # The menu is grouped by what a registrar does (admin/menu.py); views the user may not open
    # and links whose rule excludes the user are left out (三员分立: no dead links).
    for category in menu.ORDER:  # the groups in this order, whichever module adds to them first
        admin.add_category(category)
    admin.add_view(StudentView(name=_l("Students"), endpoint="student", category=menu.PUPILS))
    saved_filters.register(admin, app)  # the student list's saved filters (issue 14, point 4)
    admin.add_view(ImportView(name=_l("Import pupils from Excel"), endpoint="imports", category=menu.PUPILS))
    admin.add_view(ProblemRecordView(name=MENU_NAME, endpoint="problems", category=menu.PUPILS))
    admin.add_view(PromotionView(name=_l("Summer promotion"), endpoint="promotion", category=menu.PUPILS))
    admin.add_view(ClassView(name=_l("Classes"), endpoint="classes", category=menu.PUPILS))  # 班级管理 (issue 16, point 7)
    # The pupils' archives (第八–十条): backups and paper files, below a line in 学生.
    admin.add_menu_item(menu.PupilDivider(), target_category=menu.PUPILS)
    admin.add_view(ArchiveView(name=_l("Archive backups"), endpoint="archive", category=menu.PUPILS))
    admin.add_view(PhotoView(name=_l("Photo batch upload"), endpoint="photos", category=menu.PUPILS))
    admin.add_view(StudentCardView(name=_l("Record cards by class"), endpoint="student_cards", category=menu.PUPILS))
    admin.add_view(PupilCardView(name=_l("Student cards"), endpoint="pupil_cards", category=menu.PUPILS))  # 学生卡 (issue 16, point 3)
    admin.add_view(PaperView(name=_l("Paper files"), endpoint="paper", category=menu.PUPILS))
    # 全国学籍对接 (issue 16, point 4)
    admin.add_view(NationalView(name=_l("National system exchange"), endpoint="national", category=menu.PUPILS))
    admin.add_link(PupilDataLink(name=_l("Paper files not yet received"), endpoint="paper.index", category=menu.PUPILS))
    register_globals(app)
    # 学籍变动: the starts first, then the requests of every kind, and the lists of 第十九条 / 第二十三条.
    for link in menu.change_links():
        admin.add_link(link)
    admin.add_menu_item(menu.PupilDivider(), target_category=menu.CHANGES)
    admin.add_view(ChangeRequestView(name=_l("Change requests"), endpoint="requests", category=menu.CHANGES))
    admin.add_view(StatusView(name=_l("Suspensions expired"), endpoint="status", category=menu.CHANGES))
    admin.add_link(PupilDataLink(name=_l("Archive handovers"), endpoint="status.handovers", category=menu.CHANGES))
    # 第二十三条: the dropouts of one's area, for the county bureau and the township (the student
    # list filtered by status; flt0_3 is StudentView's status filter, tests/admin/test_status_views.py).
    admin.add_link(PupilDataLink(name=_l("Dropouts"), url=DROPOUT_LIST_URL, category=menu.CHANGES))
    for link in menu.queue_links():
        admin.add_link(link)
    # 名册与报表, 证书, 统计 (and the oversight of 第二十七条 / 第三十条): each module adds its own views.
    statistics.register(admin)
    graduation.register(admin)
    admin.add_view(ArchiveOverdueView(name=_l("Archives overdue (第八条)"), endpoint="archive_overdue", category=menu.ROSTERS))
    certificates.register(admin)
    admin.add_link(menu.RoleLink("毕业班证书", "certificates.class_page", menu.CERTIFICATES))
    app.add_template_global(menu.navbar_user)
    app.add_template_global(menu.page_name)
    app.add_template_global(menu.cached_menu)
    app.add_template_global(static_urls.static_url)
    # 第二十八条 (issue 13): the export gate's guard on every response, and the export requests.
    export_gate.install(app)
    admin.add_view(ExportRequestView(name="我的申请", endpoint="export_requests", category=EXPORT_MENU))
    admin.add_link(ExportMenuLink(name="导出登记", endpoint="export_requests.register", category=EXPORT_MENU))
    admin.add_view(SchoolView(OrgUnit, name=_l("Schools"), endpoint="school", category=_l("Organisation")))
    admin.add_view(AuthorityView(OrgUnit, name=_l("Education authorities"), endpoint="authority", category=_l("Organisation")))
    admin.add_view(UserView(name=_l("User accounts"), endpoint="users", category=_l("Organisation")))
    admin.add_view(AccessReviewView(name=_l("Access review"), endpoint="access_review", category=_l("Organisation")))
    # 数据接口令牌 (issue 16, point 5): the system administrator's tokens for the read-only API (api/).
    admin.add_view(ApiTokenView(name=_l("Data API tokens"), endpoint="api_tokens", category=_l("Organisation")))
    admin.add_view(OfficialNoticeView(name=_l("Holiday notices"), endpoint="calendar_notices", category=_l("Organisation")))
    admin.add_view(CalendarDayView(name=_l("Calendar adjustments"), endpoint="calendar", category=_l("Organisation")))
    # 学籍管理员 (第二十六条): each school's registrars; the authorities' list of their area.
    admin.add_view(RegistrarView(name=_l("Registrars (第二十六条)"), endpoint="registrars", category=_l("Organisation")))
    admin.add_view(AuditView(name=_l("Audit log"), endpoint="audit"))
    # 我的消息 (issue 16 point 6): reached from the navbar's badge, not the menu.
    admin.add_view(InboxView(name=_l("My messages"), endpoint="messages"))
    # My account (issue 13, points 6–7: the password, two-factor login) and the language sit in the
    # account menu under the user's name, right of the navbar (templates/admin/master.html).
    # Log out: a POST form in templates/admin/master.html, not a link (issue 13).
    return admin


def is_logged_in() -> bool:
    return bool(current_user.is_authenticated)
