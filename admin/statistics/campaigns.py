"""/admin/campaigns/ — the term data check (学籍数据核查, 第二十七条): authorities start a check of
their area; schools record theirs."""

from __future__ import annotations

import typing as t

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.base import SecureBaseView, attempt, commit_or_flash, current_actor, flash_form_errors
from admin.statistics.links import report_url
from forms.oversight import CampaignForm, CloseForm, CompletionForm
from models.org import SCHOOL
from services import clock
from services.errors import NotInScope
from services.oversight import campaigns, reports
from services.rosters import registers


class CampaignView(SecureBaseView):
    """学籍数据核查: authorities start a check of their area; schools record theirs."""

    @expose("/")
    def index(self) -> str:
        actor = current_actor()
        items = campaigns.campaigns(actor)
        done = campaigns.completions_of(actor.unit_id, items) if actor.unit.level == SCHOOL else {}
        summaries = {c.id: campaigns.completion_summary(c, actor) for c in items} if actor.unit.level != SCHOOL else {}
        form = CampaignForm(formdata=None) if campaigns.may_start(actor) else None
        return self.render("admin/campaigns.html", items=items, done=done, summaries=summaries, form=form,
                           is_overdue=campaigns.is_overdue, today=clock.today(), actor=actor)

    @expose("/new", methods=("POST",))
    def new(self) -> Response:
        actor = current_actor()
        if not campaigns.may_start(actor):
            abort(403)
        form = CampaignForm()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return redirect(url_for(".index"))
        done = attempt(lambda: campaigns.start_campaign(actor, form.title.data, form.due_on.data),
                       _("The data check is started; the schools of your area see it now."))
        if not done.ok:
            return redirect(url_for(".index"))
        return redirect(url_for(".campaign", campaign_id=done.value.id))

    def _load(self, campaign_id: int) -> t.Any:
        try:
            return campaigns.get_campaign(current_actor(), campaign_id)
        except NotInScope:
            abort(404)

    @expose("/<int:campaign_id>/")
    def campaign(self, campaign_id: int) -> str:
        actor = current_actor()
        item = self._load(campaign_id)
        page = max(request.args.get("page", 0, type=int), 0)
        context: dict[str, t.Any] = {"item": item, "actor": actor, "overdue": campaigns.is_overdue(item), "today": clock.today(),
                                     "reports": reports.REPORTS, "close_form": CloseForm(formdata=None),
                                     "may_close": campaigns.may_close(actor, item)}
        if actor.unit.level == SCHOOL:
            found = reports.counts(actor)
            context.update(
                own=campaigns.completion_of(item, actor.unit_id), may_complete=campaigns.may_complete(actor, item),
                checklist=[(r, found[r.code], report_url(r.code)) for r in reports.REPORTS], left=sum(found.values()),
                form=CompletionForm(formdata=None),
            )
        else:
            schools, has_next = campaigns.school_checks(item, actor, page)
            context.update(schools=schools, page=page, has_next=has_next, summary=campaigns.completion_summary(item, actor),
                           kind_label=registers.school_kind_label)
        return self.render("admin/campaign.html", **context)

    @expose("/<int:campaign_id>/complete", methods=("POST",))
    def complete(self, campaign_id: int) -> Response:
        item = self._load(campaign_id)
        form = CompletionForm()
        if not form.validate_on_submit():
            flash(_("Please correct the form."), "error")
            return redirect(url_for(".campaign", campaign_id=item.id))
        commit_or_flash(lambda: campaigns.complete(item, current_actor(), form.note.data), _("Your school's check is recorded."))
        return redirect(url_for(".campaign", campaign_id=item.id))

    @expose("/<int:campaign_id>/close", methods=("POST",))
    def close(self, campaign_id: int) -> Response:
        item = self._load(campaign_id)
        if not CloseForm().validate_on_submit():
            abort(400)
        commit_or_flash(lambda: campaigns.close_campaign(item, current_actor()), _("The data check is closed."))
        return redirect(url_for(".campaign", campaign_id=item.id))
