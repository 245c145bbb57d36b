"""A counted list's total read in the statement that reads its rows (issue 15, point 8).

Flask-Admin's `get_list` runs the COUNT, then the page's rows: two statements, each a round trip
and a pass through the ORM (~0.6 ms of a school's 8 ms list page at 3M pupils). Here the COUNT
rides along as an uncorrelated scalar subquery, which PostgreSQL and SQLite run once (an InitPlan)
with the same index as the COUNT alone, and every row carries the total. A page with no rows (an
empty list, or a page past the end) carries no total, so only then is the COUNT run on its own.

The steps are Flask-Admin 2.2's own, in its order and through its own hooks (get_query,
get_count_query, _apply_search, _apply_filters, _auto_joins (through list_auto_joins), _apply_sorting,
_apply_pagination), so a view's scope, search and filters apply to both parts exactly as before.
tests/admin/test_list_total.py compares the answer with Flask-Admin's for searches, filters,
sorts, pages and the uncounted levels, and counts the statements.
"""

from __future__ import annotations

import typing as t

from sqlalchemy.orm import joinedload


class TotalWithRowsMixin:
    """Put before the ModelView in the bases: `get_list(execute=True)` reads rows and total at once."""

    def list_auto_joins(self) -> t.Sequence[t.Any]:
        """The relationships the rows are read with (Flask-Admin: those of column_list)."""
        return self._auto_joins  # type: ignore[attr-defined,no-any-return]

    def get_list(self, page: t.Any, sort_column: t.Any, sort_desc: t.Any, search: t.Any, filters: t.Any,
                 execute: bool = True, page_size: t.Any = None) -> t.Any:
        if not execute:  # the export reads its own query; Flask-Admin counts for it as before
            return super().get_list(page, sort_column, sort_desc, search, filters,  # type: ignore[misc]
                                    execute=execute, page_size=page_size)
        view: t.Any = self
        joins: dict[t.Any, t.Any] = {}
        count_joins: dict[t.Any, t.Any] = {}
        query = view.get_query()
        count_query = view.get_count_query() if not view.simple_list_pager else None
        if view._search_supported and search:
            query, count_query, joins, count_joins = view._apply_search(query, count_query, joins, count_joins, search)
        if filters and view._filters:
            query, count_query, joins, count_joins = view._apply_filters(query, count_query, joins, count_joins, filters)
        for j in view.list_auto_joins():
            query = query.options(joinedload(j))
        query, joins = view._apply_sorting(query, joins, sort_column, sort_desc)
        query = view._apply_pagination(query, page, page_size)
        if count_query is None:  # an uncounted list (simple pager): rows only
            return None, query.all()
        # correlate(None): the COUNT's FROM is the same table as the rows'; correlated, it would
        # count nothing but the outer row.
        total = count_query.scalar_subquery().correlate(None).label("xueji_list_total")
        rows = query.add_columns(total).all()
        if not rows:
            return count_query.scalar(), []
        return rows[0][1], [row[0] for row in rows]
