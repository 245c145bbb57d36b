"""访问权限复核 (issue 13 point 9): an official confirms, each term, the accounts and roles of the
units directly below their own; past reviews stay readable. The rules live in services/access_review.py."""

from __future__ import annotations

import typing as t

from flask import abort, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _

from admin.base import SecureBaseView, ServiceErrorsMixin, attempt, current_actor
from admin.org import OFFICIALS
from models.access_review import OPEN
from services import access_review as reviews
from services.errors import NotInScope


class AccessReviewView(ServiceErrorsMixin, SecureBaseView):
    allowed_roles = OFFICIALS

    def _review(self, review_id: int) -> t.Any:
        try:
            return reviews.load_review(current_actor(), review_id)
        except NotInScope:
            abort(404)

    @expose("/")
    def index(self) -> str:
        actor = current_actor()
        start, end = reviews.current_term()
        return self.render("admin/access_review_index.html", reviews=reviews.reviews_of(actor),
                           current=reviews.review_of_term(actor, start), term=reviews.term_label(start, end),
                           term_label=reviews.term_label, status_labels=reviews.STATUS_LABELS)

    @expose("/start", methods=("POST",))
    def start(self) -> t.Any:
        done = attempt(lambda: reviews.start_review(current_actor()))
        if done.ok:
            return redirect(url_for(".review_page", review_id=done.value.id))
        return redirect(url_for(".index"))

    @expose("/<int:review_id>/")
    def review_page(self, review_id: int) -> str:
        review = self._review(review_id)
        return self.render("admin/access_review.html", review=review, is_open=review.status == OPEN,
                           term=reviews.term_label(review.term_start, review.term_end),
                           decision_labels=reviews.DECISION_LABELS, status_labels=reviews.STATUS_LABELS,
                           pending=sum(1 for i in review.items if i.decision is None))

    @expose("/<int:review_id>/decide/<int:item_id>", methods=("POST",))
    def decide(self, review_id: int, item_id: int) -> t.Any:
        review = self._review(review_id)
        attempt(lambda: reviews.decide(current_actor(), review, item_id, request.form.get("decision", ""),
                                       request.form.get("note")), _("Decision recorded."))
        return redirect(url_for(".review_page", review_id=review_id))

    @expose("/<int:review_id>/keep-rest", methods=("POST",))
    def keep_rest(self, review_id: int) -> t.Any:
        review = self._review(review_id)
        attempt(lambda: reviews.keep_the_rest(current_actor(), review),
                lambda n: _("%(n)d accounts kept.", n=n))
        return redirect(url_for(".review_page", review_id=review_id))

    @expose("/<int:review_id>/close", methods=("POST",))
    def close(self, review_id: int) -> t.Any:
        review = self._review(review_id)
        attempt(lambda: reviews.close_review(current_actor(), review), _("The review is closed."))
        return redirect(url_for(".review_page", review_id=review_id))
