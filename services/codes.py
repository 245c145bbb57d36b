"""Code tables of the national basic-information standard, kept as data in data/codes.json."""

import json
from functools import cache
from pathlib import Path

CODES_FILE = Path(__file__).resolve().parent.parent / "data" / "codes.json"


@cache
def _tables() -> dict[str, dict[str, str]]:
    raw = json.loads(CODES_FILE.read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def table(name: str) -> dict[str, str]:
    """code → label for one table; KeyError for an unknown table is a programming error."""
    return _tables()[name]


def label(name: str, code: str | None) -> str:
    if code is None or code == "":
        return ""
    return table(name).get(str(code), str(code))


def choices(name: str, blank: bool = False) -> list[tuple[str, str]]:
    """(code, name) for a drop-down or a filter: registrars pick by the name (汉族, 男), never the
    code (the import template alone shows "01 汉族", to match the national spreadsheet)."""
    items = list(table(name).items())
    return ([("", "—")] if blank else []) + items


def is_known(name: str, code: str | None) -> bool:
    return code is not None and str(code) in table(name)
