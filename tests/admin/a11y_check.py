"""Form fields without a label, positive tabindex: an HTML check for the accessibility tests (issue 14, point 9)."""

from __future__ import annotations

from html.parser import HTMLParser

SKIPPED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.tabindex: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "tabindex" in a:
            self.tabindex.append(a["tabindex"])
        if tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and a.get("type", "text").lower() in SKIPPED_TYPES:
                return
            self.fields.append({**a, "_tag": tag, "_wrapped": "1" if self.label_depth else ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self.label_depth:
            self.label_depth -= 1


def unlabelled(html: str) -> list[str]:
    """The form fields a screen reader cannot name: no <label for>, no wrapping <label>, no aria-label(ledby)."""
    p = _Fields()
    p.feed(html)
    return [
        f"<{f['_tag']} name={f.get('name')!r} id={f.get('id')!r}>"
        for f in p.fields
        if not (f["_wrapped"] or f.get("aria-label") or f.get("aria-labelledby") or (f.get("id") and f["id"] in p.label_for))
    ]


def positive_tabindex(html: str) -> list[str]:
    p = _Fields()
    p.feed(html)
    return [v for v in p.tabindex if v.strip().lstrip("+").isdigit() and int(v) > 0]
