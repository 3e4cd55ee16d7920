# The two commands a newcomer needs: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages: Pango and fonts covering Latin, Cyrillic and Hangul for WeasyPrint;
# Chromium and poppler (pdftoppm) for the browser and PDF tests.
RUN_DEBS  := libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-core fonts-nanum fonts-noto-cjk fonts-dejavu-core
TEST_DEBS := $(RUN_DEBS) chromium poppler-utils

.PHONY: run test install install-test lock debs-run debs-test lint audit-deps bench migrate translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The exact, hash-checked versions of requirements.lock (requirements-test.lock adds the test
# tools), then the portal itself without resolving anything again.
install: $(BIN)/python debs-run
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m center.translations.tools compile

install-test: $(BIN)/python debs-test
	$(BIN)/pip install --quiet --require-hashes -r requirements-test.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m center.translations.tools compile && npm ci --prefix tests/browser/vendor --no-audit --no-fund --silent

## Pin every dependency of pyproject.toml with hashes (after changing its lists): needs uv
## (`pip install uv`); the test lock is constrained to the runtime one, so both agree.
LOCK := uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --no-header --quiet
lock:
	$(LOCK) --extra semantic -o requirements.lock
	$(LOCK) --extra semantic --extra test -c requirements.lock -o requirements-test.lock

debs-run:
	@dpkg -s $(RUN_DEBS) >/dev/null 2>&1 || { \
	  echo "Installing Debian packages: $(RUN_DEBS)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(RUN_DEBS); }

debs-test:
	@dpkg -s $(TEST_DEBS) >/dev/null 2>&1 || { \
	  echo "Installing Debian packages: $(TEST_DEBS)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(TEST_DEBS); }

## Set up everything and serve the demo portal at http://127.0.0.1:5000
run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

## Install what the tests need and run the whole suite on SQLite, then on PostgreSQL
test: install-test
	$(BIN)/ruff check .
	@$(MAKE) --no-print-directory audit-deps
	@echo "== tests on SQLite =="
	DATABASE_URL= $(BIN)/pytest -q -n 2 -p no:cacheprovider
	@echo "== tests on PostgreSQL ($(PG_TEST_URL)) =="
	@if $(BIN)/python -m tests.support.pg_ready "$(PG_TEST_URL)"; then \
	  DATABASE_URL="$(PG_TEST_URL)" $(BIN)/pytest -q -n 2 -p no:cacheprovider; \
	elif [ "$$CI" = "true" ]; then \
	  echo "PostgreSQL is unreachable at $(PG_TEST_URL): failing, as CI must test on it."; exit 1; \
	else \
	  echo "PostgreSQL is unreachable at $(PG_TEST_URL): PostgreSQL run SKIPPED."; \
	fi

lint: $(BIN)/python
	$(BIN)/ruff check .

## Look the installed packages up for known vulnerabilities (pip-audit); an unreachable
## vulnerability source is reported and skipped
audit-deps: $(BIN)/python
	@echo "== dependency audit (pip-audit) =="
	@$(BIN)/python -m tests.support.dependency_audit

## Run every benchmark under bench/ and print its figures
bench: install-test
	@for script in bench/*.py; do \
	  name=$$(basename $$script .py); echo "== bench/$$name.py =="; \
	  $(BIN)/python -m bench.$$name || exit 1; done

## Write a new migration after changing models: make migrate m="what changed"
migrate: install
	$(FLASK) db migrate -m "$(m)"

## Extract the messages, update the en/ko/ru catalogues and compile them; then fill new
## entries with `python -m center.translations.tools fill ru_NN.json ...`
translations: install
	$(BIN)/python -m center.translations.tools update
	$(BIN)/python -m center.translations.tools compile

clean:
	rm -rf $(VENV) instance test-artifacts
