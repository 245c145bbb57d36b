"""Every page reachable from every demo login speaks Chinese: no 5xx, no English words of the
interface, no raw codes (issue 14, point 10).

Two passes, to stay within a few minutes on two cores:
- the HTTP client crawls every demo account (cli/demo.py ACCOUNTS) the way tests/admin/test_crawl.py
  does (same kinds, skips and links), one page per kind of URL, and reads the text a user sees:
  the text of the body (scripts and styles left out; hidden menus and modals counted, since they
  open), the captions of buttons and the placeholders;
- chromium crawls one account of each role (BROWSER_ACCOUNTS, fewer pages each), checks
  `inner_text("body")` the same way and saves screenshots of the key pages under
  tests/e2e/screenshots/ (git-ignored) for review.

Before matching, the legitimate Latin text is removed: the English language link, e-mail addresses
(the account pages show them), file names, URLs and the demo TOTP key. The failure lists each page,
word and account.
"""

from __future__ import annotations

import json
import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from cli.demo import ACCOUNTS
from cli.realistic import people, requests_in_every_state
from extensions import db
from services.two_factor import DEMO_TOTP_KEY
from tests.admin.test_crawl import SEARCHES, html_of, kind_of, queue_links, walk
from tests.conftest import login
from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).parent / "screenshots"

# Words of an English interface (Flask-Admin's, Flask-Security's, WTForms' own) matched as whole,
# case-sensitive words; a Chinese screen has none of them.
ENGLISH_WORDS = (
    "List", "Create", "Edit", "Delete", "Save", "Filter", "Filters", "Search", "True", "False", "None", "true", "false",
    "Actions", "Action", "Export", "Import", "Home", "Log out", "Logout", "Log in", "Login", "Sign in", "Submit",
    "Cancel", "Back", "Next", "Previous", "Details", "View", "Add", "Remove", "Select", "Apply", "Reset",
    "Close", "Yes", "No", "Please", "Required", "Error", "Password", "Email", "Name", "Status", "Date",
    "Records", "Record", "Showing", "Page", "Total", "Upload", "Download", "Print", "Approve", "Reject",
    "Confirm", "Are you sure", "Loading", "Change", "Request", "Student", "School", "Grade", "Class",
    "Welcome", "Dashboard", "Admin", "User", "Users", "Role", "Roles", "Audit", "Not found", "Forbidden",
    "equals", "not equal", "contains", "not contains", "greater than", "smaller than", "empty", "in list",
    "not in list", "between", "not between", "This field is required", "Invalid", "Saved", "Successfully",
    "Toggle navigation", "item", "items",
)
ENGLISH_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(w) for w in ENGLISH_WORDS) + r")(?![A-Za-z])")

# Latin text a Chinese screen may show: the language link, addresses, file names, the demo key.
LEGITIMATE_RE = re.compile(
    r"English|(?<!\S)/[\w/?&=%.,-]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://\S+|[\w()\-\u4e00-\u9fff]+\.(?:png|jpe?g|pdf|csv|xlsx|gif|zip|txt)\b|"
    + re.escape(DEMO_TOTP_KEY),
    re.I,
)


def _internal_codes() -> set[str]:
    """The codes the data store and the screens must translate: statuses of a pupil, of a request,
    of an export request; change types; transfer, suspension and move reasons; step roles and
    decisions; the audit's actions; plus the history's internal field names."""
    from admin.changes import STATUS_LABELS as REQUEST_STATUSES
    from models.export_request import STATUS_LABELS as EXPORT_STATUSES
    from services import audit, change_codes, labels

    codes_json = json.loads((ROOT / "data" / "codes.json").read_text(encoding="utf-8"))
    found = set(codes_json["student_status"])
    found |= {v for k, v in vars(change_codes).items() if k.isupper() and isinstance(v, str) and "_KEY" not in k}
    for table in (REQUEST_STATUSES, EXPORT_STATUSES, labels.TRANSFER_REASONS, labels.SUSPENSION_REASONS,
                  labels.MOVE_KINDS, labels.STEP_ROLE_LABELS, labels.DECISION_LABELS, audit.ACTION_LABELS):
        found |= set(table)
    found |= {"transfer_out", "_created", "_deleted"}
    return {c for c in found if len(c) > 2}


CODES = sorted(_internal_codes(), key=len, reverse=True)
CODE_RE = re.compile(r"(?<![\w./@:-])(" + "|".join(re.escape(c) for c in CODES) + r")(?![\w/@-]|\.\w)")


# Any other Latin word of three letters or more (“backup”, “request”) is English too, but for the
# names of file formats and a few terms Chinese screens write in Latin letters.
LATIN_RE = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]{3,}(?![A-Za-z0-9_])")
LATIN_ALLOWED = {"PDF", "CSV", "XLSX", "XLS", "EXCEL", "TOTP", "JPG", "JPEG", "PNG", "ZIP", "URL", "IP"}
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Pages about accounts, where an e-mail address is the account's name; elsewhere people show as
# name and unit (issue 14, point 1).
ACCOUNT_PAGES_RE = re.compile(r"^/(change|tf-|mf-|us-|wan-|admin/(user|users|account|access_review|sessions|security)\b)")


def offending(text: str, url: str = "/admin/", latin: bool = False) -> list[str]:
    """The English words, raw codes and (outside account pages) e-mail addresses in a screen's
    text, each once, in the order seen; with `latin`, any other Latin word too (for the text a
    browser shows: the HTML's text also holds templates and data that a browser never shows)."""
    cleaned = LEGITIMATE_RE.sub(" ", text)
    hits = [] if ACCOUNT_PAGES_RE.search(url) else [f"e-mail “{m.group(0)}”" for m in EMAIL_RE.finditer(text)]
    hits += [f"“{m.group(1)}”" for m in ENGLISH_RE.finditer(cleaned)]
    hits += [f"code “{m.group(1)}”" for m in CODE_RE.finditer(cleaned)]
    if latin:
        hits += [f"Latin “{m.group(0)}”" for m in LATIN_RE.finditer(cleaned) if m.group(0).upper() not in LATIN_ALLOWED]
    return list(dict.fromkeys(hits))


class _VisibleText(HTMLParser):
    """The text of a page's body as a reader meets it: text nodes outside scripts and styles, plus
    the captions of input buttons and the placeholders and tooltips."""

    SKIPPED = {"script", "style", "template", "head", "noscript", "desc"}  # desc: an SVG chart's link data
    # Flask-Admin's filters and the confirmations of its list actions, as JSON for its script.
    DATA_IDS = {"filter-groups-data", "active-filters-data", "actions-confirmation-data", "message-data"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.skipped_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in self.SKIPPED or a.get("id") in self.DATA_IDS:
            self.skipping += 1
            self.skipped_tags.append(tag)
            return
        if tag == "input" and a.get("type") in ("submit", "button", "reset") and a.get("value"):
            self.parts.append(a["value"] or "")
        for key in ("placeholder", "title", "aria-label"):
            if a.get(key):
                self.parts.append(a[key] or "")

    def handle_endtag(self, tag: str) -> None:
        if self.skipped_tags and tag == self.skipped_tags[-1]:
            self.skipped_tags.pop()
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return "\n".join(p.strip() for p in parser.parts if p.strip())


def _seed_realistic(app: Flask) -> tuple[str, ...]:
    """The realistic pupils and a request of every type in every state (cli/realistic.py),
    committed (the e2e tests commit and get a fresh demo each); returns the pages to start from:
    a few realistic pupils, each type's request and its pupil (out of an account's scope: 404)."""
    with app.test_request_context():
        pupils = people(20)
        last_of_type = {r.type: r for r in requests_in_every_state()}  # the last state made: mostly done
        db.session.flush()
        seeds = tuple(f"/admin/student/details/?id={p.id}" for p in pupils[:5])
        for req in last_of_type.values():  # each type's request page, and its pupil's history
            seeds += (f"/admin/requests/{req.id}/",)
            if req.student_id:
                seeds += (f"/admin/student/details/?id={req.student_id}",)
        db.session.commit()
        db.session.remove()
    return seeds


HTTP_PER_KIND = 1  # one page of each kind of URL per account
HTTP_MAX_PAGES = 200


def crawl_words(app: Flask, email: str, seeds: tuple[str, ...]) -> tuple[list[str], int]:
    """(findings 'account | page | what', pages read) of one account, through the HTTP client."""
    findings: list[str] = []

    def read(url: str, referrer: str, answer: Any) -> str | None:
        if isinstance(answer, Exception):
            findings.append(f"{email} | {url} | 500 {type(answer).__name__}: {str(answer)[:160]} (linked from {referrer})")
        elif answer.status_code >= 500:
            findings.append(f"{email} | {url} | {answer.status_code} (linked from {referrer})")
        html = html_of(answer)
        words = offending(visible_text(html), url) if html is not None else []
        if words:
            findings.append(f"{email} | {url} | {', '.join(words)}")
        return html

    visited = walk(login(app, email), ("/admin/", *SEARCHES, *seeds), read,
                   max_pages=HTTP_MAX_PAGES, limit=lambda kind: HTTP_PER_KIND)
    return findings, visited


LAYOUT_KINDS = 12  # a word on more kinds of page than this comes from the common layout


def summary(findings: list[str]) -> str:
    """Findings 'account | page | what, what' as lines 'what | kind of page | accounts (e.g. a URL)':
    a word of the common layout, seen on every page, would otherwise fill hundreds of lines."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for line in findings:
        email, url, what = line.split(" | ", 2)
        for item in what.split(", ") if not what[:1].isdigit() else [what]:
            groups.setdefault((item, kind_of(url)), []).append((email.split("@")[0], url))
    kinds_of: dict[str, list[str]] = {}
    for item, kind in groups:
        kinds_of.setdefault(item, []).append(kind)
    lines = []
    for item, kinds in sorted(kinds_of.items()):
        if len(kinds) > LAYOUT_KINDS:  # the layout's: one line
            seen = [s for kind in kinds for s in groups[(item, kind)]]
            accounts = ", ".join(dict.fromkeys(a for a, _ in seen))
            lines.append(f"{item} | on {len(kinds)} kinds of page, the layout's | {accounts} (e.g. {seen[0][1]})")
            continue
        for kind in sorted(kinds):
            seen = groups[(item, kind)]
            accounts = ", ".join(dict.fromkeys(a for a, _ in seen))
            lines.append(f"{item} | {kind} | {accounts} (e.g. {seen[0][1]})")
    return "\n".join(lines)


def test_every_demo_login_sees_chinese_pages_through_http(app: Flask) -> None:
    seeds = _seed_realistic(app)
    findings: list[str] = []
    thin: list[str] = []
    for email, *_ in ACCOUNTS:
        found, visited = crawl_words(app, email, seeds)
        findings += found
        if visited <= 5:
            thin.append(f"{email}: only {visited} pages")
    assert not thin, "the crawl found almost nothing:\n" + "\n".join(thin)
    assert not findings, (f"{len(findings)} pages show a 5xx, English words, raw codes or e-mail addresses "
                          "(what | kind of page | accounts (e.g. a page)):\n" + summary(findings))


# --- The browser pass -------------------------------------------------------------------------

# One account of each role; the registrar's and the officials' crawls are the deepest.
BROWSER_ACCOUNTS = {
    "school-heping1@xueji.demo": 40, "principal-heping1@xueji.demo": 12, "heping@xueji.demo": 35,
    "shenyang@xueji.demo": 20, "province@xueji.demo": 12, "admin@xueji.demo": 12,
    "security-admin@xueji.demo": 10, "audit-admin@xueji.demo": 10, "baomi-heping@xueji.demo": 10,
}
SEEDED = {"school-heping1@xueji.demo", "heping@xueji.demo"}  # also open a few requests and pupils' histories
# Key pages, by the first URL of the registrar's crawl that matches: screenshot name → pattern.
KEY_PAGES = {
    "home": re.compile(r"^/admin/$"),
    "student-list": re.compile(r"^/admin/student/$"),
    "student-details": re.compile(r"^/admin/student/details/\?id=\d+$"),
    "request": re.compile(r"^/admin/requests/\d+/$"),
    "request-list": re.compile(r"^/admin/requests/"),
    "audit-log": re.compile(r"^/admin/audit"),
    "search": re.compile(r"^/admin/student/\?search="),
}


def browser_crawl(page, email: str, limit: int, shots: dict[str, Path], seeds: tuple[str, ...] = ()) -> tuple[list[str], int]:
    log_in(page, email)
    assert "/login" not in page.url and "/tf-" not in page.url, f"login of {email} failed: {page.url}"
    start = ("/admin/", "/admin/student/?search=%E7%8E%8B", *seeds)
    queue = deque((url, "start") for url in start)
    seen: set[str] = set(start)
    per_kind: dict[str, int] = {}
    findings: list[str] = []
    visited = 0
    while queue and visited < limit:
        url, referrer = queue.popleft()
        visited += 1
        resp = page.goto(url)
        status = resp.status if resp is not None else 0
        if status >= 500:
            findings.append(f"{email} | {url} | {status} (linked from {referrer})")
            continue
        if status != 200 or "text/html" not in (resp.headers.get("content-type") or ""):
            continue
        words = offending(page.inner_text("body"), url, latin=True)
        if words:
            findings.append(f"{email} | {url} | {', '.join(words)}")
        role = email.split("@")[0]
        for name, pattern in KEY_PAGES.items():
            key = f"{name}--{role}"
            if key not in shots and pattern.search(url):
                shots[key] = SCREENSHOTS / f"{key}.png"
                page.screenshot(path=str(shots[key]), full_page=True)
        if visited == 1:
            navbar = page.locator("nav.navbar").first
            if navbar.count():
                path = SCREENSHOTS / f"navbar--{role}.png"
                navbar.screenshot(path=str(path))
                shots[f"navbar--{role}"] = path
        queue.extend((link, url) for link in queue_links(page.content(), url, seen, per_kind, lambda kind: 1))
    return findings, visited


def test_one_login_of_each_role_sees_chinese_pages_in_chromium(app: Flask, new_page) -> None:
    seeds = _seed_realistic(app)[5:13]  # requests of four types and their pupils' pages (history)
    SCREENSHOTS.mkdir(exist_ok=True)
    shots: dict[str, Path] = {}
    findings: list[str] = []
    for email, limit in BROWSER_ACCOUNTS.items():
        page = new_page()
        found, visited = browser_crawl(page, email, limit, shots, seeds if email in SEEDED else ())
        assert visited > 3, f"{email}: the browser crawl found almost nothing ({visited} pages)"
        findings += found
        page.context.close()
    for name in ("home--school-heping1", "student-list--school-heping1", "student-details--school-heping1",
                 "navbar--school-heping1", "search--school-heping1"):
        assert name in shots and shots[name].stat().st_size > 1000, f"no screenshot {name}: {sorted(shots)}"
    assert not findings, (f"{len(findings)} pages show a 5xx, English words, raw codes or e-mail addresses in "
                          "chromium (what | kind of page | accounts (e.g. a page)):\n" + summary(findings))


def test_the_word_check_finds_english_and_codes_but_not_legitimate_latin() -> None:
    assert offending("学生 List (3) 编辑 True") == ["“List”", "“True”"]
    assert offending("学籍状态：enrolled → suspended") == ["code “enrolled”", "code “suspended”"]
    assert offending("原因 hukou_moved；transfer_out") == ["code “hukou_moved”", "code “transfer_out”"]
    assert offending("English 邮箱 school-heping1@xueji.demo 附件 transfer_out.png 密钥 " + DEMO_TOTP_KEY, "/change") == []
    assert offending("操作人 heping@xueji.demo", "/admin/requests/3/") == ["e-mail “heping@xueji.demo”"]
    assert offending("学生列表 新建 编辑 删除 是 否") == []
    assert offending("详情 backup #7 request #186，导出 PDF", latin=True) == ["Latin “backup”", "Latin “request”"]
    assert offending("详情 backup #7 request #186，导出 PDF") == []
    report = summary(["a@xueji.demo | /admin/requests/3/ | “List”, code “pending”",
                      "b@xueji.demo | /admin/requests/4/ | “List”", "a@xueji.demo | /admin/x/ | 500 (linked from start)"])
    assert report.split("\n") == [
        "500 (linked from start) | /admin/x/? | a (e.g. /admin/x/)",
        "code “pending” | /admin/requests/N/? | a (e.g. /admin/requests/3/)",
        "“List” | /admin/requests/N/? | a, b (e.g. /admin/requests/3/)",
    ]
    html = ('<html><head><title>Home</title><script>var x = "Delete";</script></head><body>'
            '<p>学生</p><input type="submit" value="Save"><input placeholder="Search"></body></html>')
    assert visible_text(html).split("\n") == ["学生", "Save", "Search"]
