# 学籍通 — `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
FLASK  := $(BIN)/flask --app app

.PHONY: install run serve test lint bench browser translations clean-db

install: $(STAMP) translations

# Installs exactly requirements.lock: every package pinned, every file checked against its sha256.
$(STAMP): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	@touch $(STAMP)

# requirements.txt (runtime) and requirements-dev.txt (tests, lint) are the lists people edit;
# `make lock` resolves them into requirements.lock with hashes. --universal: one lock for every
# Python >= 3.11 and every platform (markers pick the right lines), not only the Python running it.
# LOCK_FLAGS=--upgrade also moves the unpinned indirect dependencies to their newest releases.
UV_VERSION := 0.13.8
LOCK_FLAGS ?=
.PHONY: lock
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile --quiet --universal --generate-hashes --python-version 3.11 \
	  --custom-compile-command 'make lock' $(LOCK_FLAGS) requirements-dev.txt -o requirements.lock

translations: $(STAMP)
	@$(BIN)/pybabel compile --statistics -d translations 2>&1 | tail -1

run: install
	@mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) demo-data --if-empty
	@echo "学籍通: http://127.0.0.1:5000 （Ctrl+C 退出）"
	$(FLASK) run --host 127.0.0.1 --port 5000

# The production stack (scripts/serve.py): migrate, then gunicorn (gunicorn.conf.py: WEB_CONCURRENCY
# workers on 127.0.0.1:PORT, default 8000) and the queue worker, stopped together by Ctrl+C. The
# secrets come from the environment, else from instance/production.env (made on the first run).
serve: install
	@mkdir -p instance
	$(BIN)/python scripts/serve.py

# Browser tests drive Debian's chromium (never a downloaded browser). Installed here when
# missing and we are root; otherwise the browser tests are skipped with a message.
# fonts-wqy-zenhei lets chromium draw Chinese in screenshots; poppler-utils (pdftoppm) renders
# PDF pages to PNG for the "page is not blank" test and the 学籍卡's golden image; fonts-hanazono
# draws the rare characters (𠮷, 㛃) the PDFs' face lacks (services/pdf_rare.py; production needs it too).
DEBIAN_TEST_PACKAGES := chromium fonts-wqy-zenhei poppler-utils fonts-hanazono

browser:
	@if [ -x /usr/bin/chromium ] && command -v pdftoppm >/dev/null && [ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] \
	     && [ -e /usr/share/fonts/truetype/hanazono/HanaMinA.ttf ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian packages for the browser and PDF tests: $(DEBIAN_TEST_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_TEST_PACKAGES) >/dev/null; \
	else echo "WARNING: $(DEBIAN_TEST_PACKAGES) missing and not root: browser tests will be skipped"; fi

test: install browser
	@if [ -x /usr/bin/chromium ]; then $(BIN)/pytest; else XUEJI_SKIP_E2E=1 $(BIN)/pytest; fi

# ruff, then the import contracts of pyproject.toml (layers; change types independent).
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: install
	bash bench/run.sh

clean-db:
	rm -f instance/xueji.db
