"""What the data-safety tests share: a transfer with a request page to upload to, and counts read
through a connection of their own (what another user would see: only what was really committed)."""

from __future__ import annotations

import io
import os
import typing as t
from datetime import date

from flask import Flask
from sqlalchemy import func, select

from extensions import db
from tests.transfer_helpers import at, start

TERM_DAY = date(2026, 11, 10)  # in term time: a transfer may be opened


def open_transfer(app: Flask, monkeypatch: t.Any) -> int:
    """A transfer 和平一小 → 沈河一小 without its evidence yet, opened by school-shenhe1."""
    at(monkeypatch, TERM_DAY)
    with app.test_request_context():
        request_id = start(materials=False).id
        db.session.remove()
    return request_id


def fresh_png() -> bytes:
    """A PNG no other test stored: the store is content-addressed, and a file already there is
    not written again."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), tuple(os.urandom(3))).save(buf, format="PNG", pnginfo=_comment(os.urandom(8).hex()))
    return buf.getvalue()


def _comment(text: str):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", text)
    return info


def attach(client: t.Any, request_id: int, data: bytes, name: str = "故障测试.png", **kw: t.Any):
    return client.post_form(f"/admin/requests/{request_id}/attach",
                            {"material": "hukou", "file": (io.BytesIO(data), name)},
                            token_from=f"/admin/requests/{request_id}/", content_type="multipart/form-data", **kw)


def committed_counts(app: Flask) -> dict[str, int]:
    """Every table's row count through a fresh connection of the engine."""
    with app.app_context(), db.engine.connect() as conn:
        return {table.name: conn.scalar(select(func.count()).select_from(table)) or 0
                for table in db.metadata.sorted_tables}
