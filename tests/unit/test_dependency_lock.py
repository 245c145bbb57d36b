"""requirements.lock is what `make install` installs: it must say what requirements*.txt say
(an edit of a pin without `make lock` fails here) and carry a hash for every package."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
ENTRY = re.compile(r"^(?P<req>[A-Za-z0-9][^\\\n]*?)\s*\\\n(?P<hashes>(?:\s+--hash=\S+\s*\\?\n)+)", re.M)


def _inputs() -> dict[str, Requirement]:
    """The pins people edit: requirements-dev.txt and the requirements.txt it includes."""
    pins = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                req = Requirement(line)
                pins[canonicalize_name(req.name)] = req
    return pins


def _lock() -> list[tuple[Requirement, list[str]]]:
    text = (ROOT / "requirements.lock").read_text()
    return [(Requirement(m["req"]), re.findall(r"--hash=(\S+)", m["hashes"])) for m in ENTRY.finditer(text)]


def test_the_lock_pins_each_required_package_at_its_required_version():
    locked: dict[str, set[str]] = {}
    for req, _ in _lock():
        locked.setdefault(canonicalize_name(req.name), set()).add(str(req.specifier))
    for name, req in _inputs().items():
        wanted = {str(req.specifier)}
        assert locked.get(name) == wanted, f"{name}: requirements say {wanted}, the lock {locked.get(name)}: run make lock"


def test_every_locked_package_is_pinned_and_hashed():
    entries = _lock()
    text = (ROOT / "requirements.lock").read_text()
    assert len(entries) == len(re.findall(r"^[A-Za-z0-9]", text, re.M)), "a lock line the parser did not read"
    for req, hashes in entries:
        assert str(req.specifier).startswith("=="), f"{req.name} is not pinned"
        assert hashes and all(h.startswith("sha256:") for h in hashes), f"{req.name} has no sha256"


def test_make_install_installs_the_lock_with_hash_checking():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r requirements.lock" in makefile
    assert re.search(r"^\$\(STAMP\): requirements\.lock$", makefile, re.M), "the install stamp must depend on the lock"
