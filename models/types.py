"""Column types shared by several models."""

from sqlalchemy import String


def ScopePath(length: int = 120) -> String:
    """A materialized org path ("/21/2101/210102/2112000001/").

    Byte-wise ("C") collation on PostgreSQL so that the range test used by the scope
    rule (path >= p AND path < p') follows the characters, not a locale that ignores '/'.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")
