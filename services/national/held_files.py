"""The national file a user is reconciling, held between the upload, the review and the apply.

Not content-addressed with the archive's files (services/uploads.store): nothing refers to it after
the session, so it is kept under a folder of its own with a random name and removed a day later —
on the next upload by anyone (as the print jobs forget old jobs), so no schedule is needed.
"""

from __future__ import annotations

import re
import secrets
import time

from services import storage, uploads

FOLDER = "national-uploads"
KEEP_SECONDS = 24 * 3600  # a review left open over night still applies the next morning
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _name(token: str) -> str:
    return f"{FOLDER}/{token}.xlsx"


def hold(data: bytes) -> str:
    """Keep the uploaded file; returns the token the user's session names it by."""
    forget_old()
    token = secrets.token_urlsafe(24)
    uploads.write_record(_name(token), data)
    return token


def read(token: str | None) -> bytes | None:
    """The held file, or None when the token is not ours or the file is gone (a day later)."""
    if not token or not _TOKEN.match(token):
        return None
    return uploads.read_record(_name(token))


def forget_old(now: float | None = None) -> int:
    """Remove the held files older than KEEP_SECONDS. Returns how many went."""
    cutoff = (time.time() if now is None else now) - KEEP_SECONDS
    old = [name for name, modified in storage.current().records(FOLDER) if modified < cutoff]
    for name in old:
        uploads.delete_record(name)
    return len(old)
