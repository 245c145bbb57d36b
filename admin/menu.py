"""The menu, grouped by what a registrar does (issue 14, point 3): 学生, 学籍变动, 待我处理, 名册与报表,
证书, 统计, then the archives, exports, organisation, audit and the account.

Links to pages of another view carry their own visibility rule, so that no account sees a link
that would answer 403 (三员分立: tests/security/test_separation_of_duties.py), and may carry
query arguments (a queue, the kind of change to start)."""

from __future__ import annotations

import typing as t

from flask import request, url_for
from flask_admin.menu import MenuDivider, MenuLink
from flask_babel import gettext as _
from flask_security import current_user

from admin import list_frames
from models.org import SCHOOL
from models.people import ROLE_LABELS
from services import duties, home, labels, notifications

if t.TYPE_CHECKING:
    from models.people import User

# Category names (the README's menu paths name them: tests/admin/test_ui_navigation.py).
PUPILS = "学生"
CHANGES = "学籍变动"
MY_QUEUE = "待我处理"
ROSTERS = "名册与报表"
CERTIFICATES = "证书"
STATISTICS = "统计"
ORDER = (PUPILS, CHANGES, MY_QUEUE, ROSTERS, CERTIFICATES, STATISTICS)


def reads_pupils(user: User) -> bool:
    return duties.reads_pupils(user)


def school_staff(user: User) -> bool:
    """A school's own staff: the pupil pickers of one's school (status.start) are theirs alone."""
    return reads_pupils(user) and user.unit.level == SCHOOL and user.is_school_user


def starts_transfers(user: User) -> bool:
    """The receiving school, or an authority for a pupil of its area (requests.transfer_new)."""
    return reads_pupils(user) and (user.unit.level == SCHOOL or user.is_official)


def at_school(user: User) -> bool:
    return reads_pupils(user) and user.unit.level == SCHOOL


class RoleLink(MenuLink):
    """A link to `endpoint` with `values` as its arguments, shown when `shown(user)` holds."""

    def __init__(self, name: str, endpoint: str, category: str, shown: t.Callable[[User], bool] = reads_pupils,
                 **values: t.Any) -> None:
        super().__init__(name=name, endpoint=endpoint, category=category)
        self.shown = shown
        self.values = values

    def get_url(self) -> str:
        return url_for(self.endpoint, **self.values)  # type: ignore[arg-type]

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and current_user.active
                    and self.shown(current_user._get_current_object()))  # type: ignore[attr-defined]


# 学籍变动 → 休学, 复学, …: the pupil picker of one's school (status.start) opened for one kind.
PUPIL_STARTS = (
    ("休学", "suspension"),
    ("复学", "resumption"),
    ("出国（出境）", "abroad"),
    ("辍学", "dropout"),
    ("死亡", "death"),
)


def change_links() -> list[MenuLink]:
    """The starts of 学籍变动, placed before the lists of the same category."""
    links: list[MenuLink] = [
        RoleLink("发起学籍变动", "status.start", CHANGES, school_staff),
        RoleLink("发起转学", "requests.transfer_new", CHANGES, starts_transfers),
    ]
    links += [RoleLink(name, "status.start", CHANGES, school_staff, kind=kind) for name, kind in PUPIL_STARTS]
    links.append(RoleLink("学籍接续", "requests.continuation_new", CHANGES, at_school))
    return links


class PupilDivider(MenuDivider):
    """A line between a group's starts and its lists; shown with them only (an administrator's menu
    must not show a group that holds nothing but a line)."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and reads_pupils(current_user._get_current_object()))  # type: ignore[attr-defined]


def queue_links() -> list[MenuLink]:
    """待我处理: the request list's queues (services/workflows.queue_filter)."""
    return [
        RoleLink("待我核办", "requests.index_view", MY_QUEUE, queue="waiting"),
        RoleLink("已超期", "requests.index_view", MY_QUEUE, queue="overdue"),
        RoleLink("我发起的", "requests.index_view", MY_QUEUE, queue="requested"),
        RoleLink("我已核办", "requests.index_view", MY_QUEUE, queue="decided"),
        RoleLink("导出申请待我审批", "export_requests.pending", MY_QUEUE, duties.has_row_scope),
    ]


def navbar_user() -> dict[str, t.Any] | None:
    """Who is logged in, for the navbar (templates/admin/master.html): name, unit, roles, and the
    size of 待我处理 (one COUNT, only for the accounts that see requests)."""
    if not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    roles = "、".join(ROLE_LABELS.get(r, r) for r in sorted(user.role_names))
    waiting = home.waiting_badge(user) if reads_pupils(user) else None
    unread = notifications.unread_count(user)  # 我的消息 (services/user_store.py)
    # The counts as printed: holes while a kept list frame is rendered (admin/list_frames.py).
    framing = list_frames.is_rendering_frame()
    return {"name": labels.name_of(user), "unit": user.unit.name if user.unit else "", "roles": roles, "waiting": waiting,
            "unread": unread, "waiting_text": list_frames.WAITING if framing else str(waiting),
            "unread_text": list_frames.UNREAD if framing else str(unread),
            "account": [(_("Reminder settings"), url_for("messages.preferences")), (_("Change password"), "/change"),
                        (_("Two-factor login"), "/tf-setup"),
                        (_("Recovery codes"), "/mf-recovery-codes")],
            "languages": [("中文", "/lang/zh_Hans_CN"), ("English", "/lang/en")]}


ACTION_SUFFIX = {"details_view": " · 详情", "edit_view": " · 编辑", "create_view": " · 新增"}


# The main menu's visibility is a function of the account's role names and its unit's level alone:
# every is_accessible of the menu (AccessMixin, RoleLink, PupilDivider, PupilDataLink,
# ExportMenuLink) reads nothing else, and is_visible is fixed per view. So the ~40 entries are
# walked (is_accessible, url_for, gettext: ~1 ms) once per (roles, level, language, URL root) in a
# worker's life, not on every page (issue 15, point 8). A new visibility rule that reads anything
# else must be added to _menu_key. Kept per app (app.extensions), bounded; a worker restart or
# another worker just walks it again (nothing here is state: the menu is fixed at start-up).
MENU_CACHE_SIZE = 512


def _menu_key() -> tuple[t.Any, ...]:
    from flask_babel import get_locale

    if not current_user.is_authenticated:
        return ("anonymous", str(get_locale()), request.script_root)
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    return (frozenset(user.role_names), user.unit.level if user.unit else None, bool(user.active),
            str(get_locale()), request.script_root)


def _menu_cache() -> dict[t.Any, t.Any]:
    from flask import current_app

    cache = current_app.extensions.setdefault("xueji.menu_cache", {})
    if len(cache) > MENU_CACHE_SIZE:
        cache.clear()
    return cache


def cached_menu(admin_view: t.Any, caller: t.Callable[[], t.Any]) -> t.Any:
    """The main menu's HTML (templates/admin/master.html: `{% call cached_menu(admin_view) %}`
    around Flask-Admin's layout.menu()), rendered once per _menu_key and active view."""
    key = ("html", _menu_key(), getattr(admin_view, "endpoint", None))
    cache = _menu_cache()
    found = cache.get(key)
    if found is None:
        found = cache[key] = caller()
    return found


def _menu_entries() -> list[tuple[str, str]]:
    """(url, name) of every menu entry the user sees, for page_name; once per _menu_key (see above)."""
    from flask import current_app

    key = ("entries", _menu_key())
    cache = _menu_cache()
    found = cache.get(key)
    if found is None:
        found = cache[key] = [(child.get_url(), str(child.name))
                              for item in current_app.extensions["admin"][0].menu()
                              for child in (item.get_children() if item.is_category() else [item])]
    return found


def page_name(title: t.Any = None, view: t.Any = None) -> str:
    """What the page is, for its <title> and heading: the name its template gives it; else the menu
    entry that opens this very page (发起转学, 待我核办, 档案移交 …, the query included, then the path
    alone); else its view's name, with 详情/编辑/新增 for a model view's record pages."""
    if title:
        return str(title)
    endpoint = request.endpoint or ""
    action = endpoint.rpartition(".")[2]
    if action not in ACTION_SUFFIX:
        here = request.full_path.rstrip("?")
        entries = _menu_entries()
        for url, name in entries:
            if url == here:
                return name
        for url, name in entries:
            if url == request.path:
                return name
    return f"{view.name}{ACTION_SUFFIX.get(action, '')}" if view is not None else ""
