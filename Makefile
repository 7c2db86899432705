# Anagen — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PYTHONPATH := $(CURDIR)/backend
FLASK  := $(BIN)/flask --app anagen
PORT   ?= 8000
# Invite links and the printed sign-in address follow the port unless set.
export PUBLIC_BASE_URL ?= http://localhost:$(PORT)

.PHONY: run test test-dates lint format screenshots bench clean lock

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt -r requirements-dev.txt
	touch $(VENV)/.installed $@

## Regenerate the lock files (requirements*.txt) from requirements*.in after changing a pin.
lock: $(VENV)/.dev-installed
	$(BIN)/pip-compile -q --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
	  -o requirements.txt requirements.in
	$(BIN)/pip-compile -q --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
	  -o requirements-dev.txt requirements-dev.in

## Serve the app on http://localhost:$(PORT) with the reminder dispatcher beside it, both
## supervised (restarted if they die) by supervisord: deploy/supervisord.conf.
run: $(VENV)/.installed
	$(FLASK) setup --demo
	@echo "Anagen on http://localhost:$(PORT)  (Ctrl-C stops the web server and the dispatcher)"
	@VENV_BIN=$(CURDIR)/$(BIN) ANAGEN_INSTANCE_PATH=$${ANAGEN_INSTANCE_PATH:-$(CURDIR)/instance} \
	  PORT=$(PORT) WEB_WORKERS=$${WEB_WORKERS:-1} exec $(BIN)/supervisord -c deploy/supervisord.conf

## Lint, then the whole suite on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.
test: $(VENV)/.dev-installed
	$(BIN)/ruff check backend tests bench
	$(BIN)/ruff format --check backend tests bench
	$(BIN)/lint-imports
	ANAGEN_TEST_DATABASE=sqlite $(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL, with the machine's clock in another time zone =="; \
	  TZ=Pacific/Auckland ANAGEN_TEST_DATABASE="$$TEST_DATABASE_URL" $(BIN)/pytest; \
	else echo "TEST_DATABASE_URL not set: PostgreSQL run skipped (CI sets it)"; fi

## The suite (browser tests aside) with the whole process tree at other dates (Debian's faketime):
## a Monday morning, a Sunday night, a clock change and a leap day. The offset keeps child
## processes on the same fake clock as the tests; tests/support/faketime/ explains the sleep shim.
FAKE_DATES ?= 2026-12-07T10:00 2026-12-13T23:30 2027-03-28T00:30 2028-02-29T12:00
test-dates: $(VENV)/.dev-installed
	@command -v faketime >/dev/null || { echo "needs faketime (apt-get install faketime)"; exit 1; }
	@for d in $(FAKE_DATES); do \
	  off=$$(( $$(date -u -d "$$d" +%s) - $$(date -u +%s) )); \
	  echo "== the suite at $$d UTC (faketime +$${off}s) =="; \
	  FAKETIME_DONT_FAKE_MONOTONIC=1 PYTHONPATH=$(CURDIR)/tests/support/faketime:$(PYTHONPATH) \
	    ANAGEN_TEST_DATABASE=sqlite faketime -f "+$${off}s" $(BIN)/pytest -m "not browser" || exit 1; \
	done

## Save every patient and staff screen to docs/screenshots/ (real Chromium).
screenshots: $(VENV)/.dev-installed
	ANAGEN_SCREENSHOTS=1 $(BIN)/pytest tests/browser/test_screenshots.py tests/browser/test_clinic.py \
	  tests/browser/test_clinic_dashboard.py tests/browser/test_clinic_course.py

## Benchmarks (each prints one JSON line; DATABASE_URL picks the database).
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/pwa_weight.py
	$(BIN)/python bench/dispatch.py

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check backend tests bench
	$(BIN)/lint-imports

format: $(VENV)/.dev-installed
	$(BIN)/ruff format backend tests bench
	$(BIN)/ruff check --fix backend tests bench

clean:
	rm -rf $(VENV) .pytest_cache
