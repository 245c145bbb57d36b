"""Statistics, rosters, violation reports and the term data check (issue #6 part 3), one module per view:

- dashboard: /admin/statistics/ — the dashboard of the user's level (also on the home page);
- rosters: /admin/rosters/ — the registers of 第十二条 and 第二十四条, and their submissions;
- oversight: /admin/oversight/ — the violations of 第三十条;
- campaigns: /admin/campaigns/ — the term data check (第二十七条);
- links: the links from a count to the list it counts.
"""

from __future__ import annotations

from flask_admin import Admin
from flask_babel import lazy_gettext as _l

from admin.statistics.campaigns import CampaignView
from admin.statistics.dashboard import StatisticsView
from admin.statistics.oversight import OversightView
from admin.statistics.rosters import RosterView


def register(admin: Admin) -> None:
    """Add the views to the admin (their endpoints are used by url_for in templates and tests)."""
    stats, watch = "统计", "统计"  # the menu groups of admin/menu.py (issue 14)
    admin.add_view(StatisticsView(name=_l("Dashboard"), endpoint="statistics", category=stats))
    admin.add_view(RosterView(name=_l("Rosters (第十二条)"), endpoint="rosters", category="名册与报表"))
    admin.add_view(OversightView(name=_l("Violation reports (第三十条)"), endpoint="oversight", category=watch))
    admin.add_view(CampaignView(name=_l("Term data check (第二十七条)"), endpoint="campaigns", category=watch))
