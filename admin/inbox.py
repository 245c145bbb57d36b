"""我的消息 (issue 16 point 6): the user's own notifications, newest first, marked read one by one or
all at once (POST with the CSRF token), and the mail preferences per kind. Every account has one;
another user's notification answers 404 (services/notifications.own)."""

from __future__ import annotations

import typing as t

from flask import Response, abort, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from admin.base import SecureBaseView, attempt, current_actor
from services import mail, notifications
from services.errors import NotInScope


class MarkForm(FlaskForm):
    """A POST with only the CSRF token (mark one read, mark all read)."""


class InboxView(SecureBaseView):
    open_to_every_account = True  # whoever logs in may be told something

    def is_visible(self) -> bool:
        return False  # reached from the navbar's badge and the account menu

    @expose("/")
    def index(self) -> str:
        actor = current_actor()
        page = max(1, request.args.get("page", 1, type=int) or 1)
        rows = notifications.inbox(actor, page)
        more = len(rows) > notifications.PAGE_SIZE
        return self.render("admin/inbox.html", rows=rows[:notifications.PAGE_SIZE], page=page, more=more,
                           kind_labels=notifications.KIND_LABELS, form=MarkForm(),
                           unread=notifications.unread_count(actor))

    @expose("/<int:notice_id>/read", methods=("POST",))
    def read(self, notice_id: int) -> Response:
        actor = current_actor()
        try:
            notifications.own(actor, notice_id)
        except NotInScope:
            abort(404)  # another user's, or none: absent and foreign look alike
        if not MarkForm().validate_on_submit():
            return Response(_("The form has expired; please try again."), status=400)
        done = attempt(lambda: notifications.mark_read(actor, notice_id))
        row = done.value if done.ok else None
        if request.form.get("open") and row is not None and row.link:
            return redirect(request.script_root + row.link)
        return redirect(url_for(".index", page=request.args.get("page", 1, type=int)))

    @expose("/read-all", methods=("POST",))
    def read_all(self) -> Response:
        if not MarkForm().validate_on_submit():
            return Response(_("The form has expired; please try again."), status=400)
        actor = current_actor()
        attempt(lambda: notifications.mark_all_read(actor), lambda n: _("%(n)d messages marked as read.", n=n))
        return redirect(url_for(".index"))

    @expose("/preferences", methods=("GET", "POST"))
    def preferences(self) -> t.Any:
        actor = current_actor()
        if request.method == "POST":
            if not MarkForm().validate_on_submit():
                return Response(_("The form has expired; please try again."), status=400)
            modes = {kind: request.form.get(f"mail-{kind}", "") for kind in notifications.KIND_LABELS}
            done = attempt(lambda: notifications.set_preferences(actor, modes), _("Reminder settings saved."))
            if done.ok:
                return redirect(url_for(".preferences"))
        return self.render("admin/inbox_preferences.html", prefs=notifications.preferences(actor),
                           kind_labels=notifications.KIND_LABELS, mail_labels=notifications.MAIL_LABELS,
                           mail_enabled=mail.enabled(), form=MarkForm())
