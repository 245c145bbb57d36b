"""Saved list filters (issue 14, point 4): each user names the filters and search of a list and
opens them again. A saved filter belongs to its user alone: another user's id is NotInScope (404)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select

from extensions import db
from models.people import User
from models.saved_filter import SavedFilter
from services import session_writes
from services.errors import NotInScope, RuleViolation

NAME_MAX = 60
QUERY_MAX = 1000
PER_LIST_MAX = 30
DROPPED_ARGS = frozenset({"page"})  # a saved filter opens on its first page
session_writes.watch(SavedFilter)  # for_list: a filter saved in this request is looked for


def clean_query(query_string: str) -> str:
    """The list's arguments, re-encoded (nothing but key=value pairs survives), without the page."""
    pairs = [(k, v) for k, v in parse_qsl(query_string or "", keep_blank_values=False) if k not in DROPPED_ARGS]
    return urlencode(pairs)


def for_list(user: User | int, endpoint: str) -> list[SavedFilter]:
    """The user's filters of one list, by name. Given the account of the request, none are looked
    for when it had none at the request's start (services/user_store.py: most accounts save none,
    and every list page asks) and this request has saved none since."""
    if isinstance(user, User):
        if user.__dict__.get("saved_filters_at_load") == 0 and not session_writes.written(SavedFilter):
            return []
        user_id = user.id
    else:
        user_id = user
    return list(db.session.scalars(
        select(SavedFilter).where(SavedFilter.user_id == user_id, SavedFilter.endpoint == endpoint)
        .order_by(SavedFilter.name)
    ))


def save(user_id: int, endpoint: str, name: str, query_string: str) -> SavedFilter:
    """Saves (or, under a name already used for this list, replaces) the user's filter."""
    name = " ".join((name or "").split())
    if not name:
        raise RuleViolation([("name", "请填写筛选名称。")])
    if len(name) > NAME_MAX:
        raise RuleViolation([("name", f"筛选名称不能超过 {NAME_MAX} 个字。")])
    query = clean_query(query_string)
    if len(query) > QUERY_MAX:
        raise RuleViolation([("query", "筛选条件太长，无法保存。")])
    row = db.session.scalar(select(SavedFilter).where(
        SavedFilter.user_id == user_id, SavedFilter.endpoint == endpoint, SavedFilter.name == name))
    if row is None:
        if len(for_list(user_id, endpoint)) >= PER_LIST_MAX:
            raise RuleViolation([("name", f"每个列表最多保存 {PER_LIST_MAX} 个筛选，请先删除不用的。")])
        row = SavedFilter(user_id=user_id, endpoint=endpoint, name=name, query_string=query)
        db.session.add(row)
    else:
        row.query_string = query
    db.session.flush()
    return row


def load(user_id: int, filter_id: int) -> SavedFilter:
    row = db.session.get(SavedFilter, filter_id) if 0 < filter_id <= 2**31 - 1 else None
    if row is None or row.user_id != user_id:
        raise NotInScope()
    return row


def delete(user_id: int, filter_id: int) -> SavedFilter:
    row = load(user_id, filter_id)
    db.session.delete(row)
    db.session.flush()
    return row
