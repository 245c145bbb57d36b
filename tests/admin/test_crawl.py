"""Every page reachable from every demo login answers without a server error, on realistic data.

For each demo account (cli/demo.py ACCOUNTS) the test logs in and follows, breadth first, every
same-site GET link (href) found in the pages, starting at /admin/. Links that change state or only
deliver files are skipped (log out, language, exports, printed PDFs, attachments). To stay bounded,
URLs that differ only in their numbers or query values count as one kind, of which a few are
visited. The data are the demo province plus cli/realistic.py: pupils without a 学籍号, class or
guardians, rare characters and long minority names, leap-day birthdays, guardians born 1930–2008,
and a request of every type in every state.
"""

from __future__ import annotations

import re
import typing as t
from collections import deque
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qsl, urldefrag, urlencode, urlsplit

import pytest
from flask import Flask

from cli.demo import ACCOUNTS
from cli.realistic import people, requests_in_every_state
from extensions import db
from tests.conftest import end_extended_demo, extend_demo, login

HREF_RE = re.compile(r'href="([^"]+)"')
SKIP_RE = re.compile(
    r"logout|/lang|language|export|download|/print|print/|\.pdf|\.xlsx|\.csv|attachment|/static/|/pdf|/file|"
    r"backup/\d+/download|/verify",
    re.I,
)
# Searches a reader types: rare characters, the middle dot, a 学籍号 prefix, an ID number's start.
SEARCHES = ("/admin/student/?search=%F0%A0%AE%B7", "/admin/student/?search=%C2%B7", "/admin/student/?search=G2101",
            "/admin/requests/?search=%E4%B6%AE")
PER_KIND = 3  # URLs of one kind visited per account
PER_RECORD_KIND = 25  # … of a kind that shows one record (a pupil, a request): the realistic ones among them
MAX_PAGES = 300  # per account
# Query keys that select what a page shows; sorting, paging and filters of a list make no new kind.
MEANINGFUL_KEYS = {"id", "queue", "student_id", "year", "show", "done"}


def kind_of(url: str) -> str:
    """/admin/student/details/?id=17&url=… → /admin/student/details/?id: numbers, query values and a
    list's sorting, paging and filters do not count."""
    parts = urlsplit(url)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)} & MEANINGFUL_KEYS)
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def limit_of(kind: str) -> int:
    return PER_RECORD_KIND if ("details/?id" in kind or "/N/?" in kind or "student_id" in kind) else PER_KIND


def same_site_links(html: str, base: str) -> Iterator[str]:
    for raw in HREF_RE.findall(html):
        href = urldefrag(unescape(raw))[0]
        if not href or href.startswith(("http:", "https:", "//", "javascript:", "mailto:", "tel:", "data:")):
            continue
        if not href.startswith("/"):
            if href.startswith("?"):
                href = urlsplit(base).path + href
            else:
                continue  # relative paths are not used by the app's templates
        parts = urlsplit(href)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "url"]  # Flask-Admin's return URL
        yield parts.path + ("?" + urlencode(query) if query else "")


def queue_links(html: str, url: str, seen: set[str], per_kind: dict[str, int], limit: t.Callable[[str], int],
                skip: re.Pattern[str] = SKIP_RE) -> Iterator[str]:
    """The links of a page still to visit: same site, not skipped, not seen, within `limit(kind)`."""
    for link in same_site_links(html, url):
        if link in seen or skip.search(link):
            continue
        seen.add(link)
        kind = kind_of(link)
        if per_kind.get(kind, 0) >= limit(kind):
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        yield link


def html_of(answer: t.Any) -> str | None:
    """The HTML of a page that answered 200, else None (an error, a redirect, a file)."""
    if isinstance(answer, Exception) or answer.status_code != 200 or "text/html" not in (answer.content_type or ""):
        return None
    return answer.get_data(as_text=True)  # type: ignore[no-any-return]


def walk(client: t.Any, start: t.Iterable[str], read: t.Callable[[str, str, t.Any], str | None], *,
         max_pages: int = MAX_PAGES, limit: t.Callable[[str], int] = limit_of, skip: re.Pattern[str] = SKIP_RE) -> int:
    """The crawl every crawling test shares (this one, the XSS and the words crawls): breadth first
    from `start`, at most `max_pages` pages. `read(url, referrer, answer)` gets each response, or
    the exception the page raised (under TESTING an error propagates instead of answering 500), and
    returns the page's HTML when its links are to be followed. Returns the number of pages read."""
    start = tuple(start)
    queue: deque[tuple[str, str]] = deque((url, "start") for url in start)
    seen: set[str] = set(start)
    per_kind: dict[str, int] = {}
    visited = 0
    while queue and visited < max_pages:
        url, referrer = queue.popleft()
        visited += 1
        try:
            answer = client.get(url)
        except Exception as exc:
            answer = exc
        html = read(url, referrer, answer)
        if html is not None:
            queue.extend((link, url) for link in queue_links(html, url, seen, per_kind, limit, skip))
    return visited


def crawl(app: Flask, email: str, seeds: tuple[str, ...] = ()) -> tuple[list[str], int]:
    """(every 'URL → status (from referrer)' that answered 5xx, pages visited). `seeds` are visited
    besides /admin/ (e.g. the realistic pupils' pages; outside the account's scope they answer 404)."""
    failures: list[str] = []

    def read(url: str, referrer: str, answer: t.Any) -> str | None:
        if isinstance(answer, Exception):
            failures.append(f"{url} → 500 {type(answer).__name__}: {str(answer)[:200]} (linked from {referrer})")
        elif answer.status_code >= 500:
            failures.append(f"{url} → {answer.status_code} (linked from {referrer})")
        return html_of(answer)

    visited = walk(login(app, email), ("/admin/", *SEARCHES, *seeds), read)
    return failures, visited


@pytest.fixture(scope="module")
def realistic(app: Flask) -> Iterator[tuple[str, ...]]:
    """The realistic data, committed once for the module's crawls (each crawl is still rolled back);
    returns the pages of its pupils (rare characters, no 学籍号, no class …)."""
    def build() -> tuple[str, ...]:
        pupils = people(30)
        requests_in_every_state()
        db.session.flush()
        return tuple(f"/admin/student/details/?id={p.id}" for p in pupils)

    yield extend_demo(app, build)
    end_extended_demo()


@pytest.mark.parametrize("email", [a[0] for a in ACCOUNTS])
def test_no_page_reachable_from_a_demo_login_answers_5xx(app: Flask, realistic: tuple[str, ...], email: str) -> None:
    failures, visited = crawl(app, email, realistic)
    assert visited > 5, f"{email}: the crawl found almost nothing ({visited} pages)"
    assert not failures, f"{email}: {len(failures)} pages answered 5xx:\n" + "\n".join(failures)


def test_kind_of_ignores_numbers_and_values() -> None:
    assert kind_of("/admin/requests/17/") == kind_of("/admin/requests/4/")
    assert kind_of("/admin/student/?page=2&sort=1") == kind_of("/admin/student/?sort=0&page=9")
    assert kind_of("/admin/student/?page=2") == kind_of("/admin/student/?flt0_1=3")
    assert kind_of("/admin/student/details/?id=3") != kind_of("/admin/student/edit/?id=3")
