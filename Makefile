# Guanxi: `make demo` runs the CRM with demo data on SQLite; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test setup assets lint run messages bench-seed clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(PY) || $$(scripts/find-python) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

static/vendor/.built: frontend/package.json frontend/package-lock.json frontend/copy-assets.mjs
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	@touch $@

$(VENV)/.locale-compiled: $(wildcard locale/*/LC_MESSAGES/*.po) $(VENV)/.installed
	@# Compiled catalogues are committed too, so a machine without GNU gettext still runs in both languages.
	@if command -v msgfmt >/dev/null; then $(PY) manage.py compilemessages --ignore=.venv --ignore=frontend -v0; \
	  else echo "msgfmt (GNU gettext) not found: using the committed .mo catalogues"; fi
	@touch $@

setup: $(VENV)/.installed static/vendor/.built $(VENV)/.locale-compiled

demo: setup
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo --if-empty
	PORT=$(PORT) scripts/run-demo

lint: setup
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run -v0

# SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (CI always sets it).
PYTEST_RUN = scripts/run-tests $(PYTEST_ARGS)
test: lint
	@echo "== SQLite"
	$(PYTEST_RUN)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== PostgreSQL: $${TEST_DATABASE_URL%%\?*}"; \
	  export DATABASE_URL="$$TEST_DATABASE_URL"; $(PYTEST_RUN); \
	else \
	  echo "== SKIPPED: the PostgreSQL run (set TEST_DATABASE_URL=postgres://user@host:5432/name to run it)"; \
	fi

messages: setup
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=frontend --ignore=static --ignore=var --no-obsolete --no-wrap

clean:
	rm -rf $(VENV) static/vendor frontend/node_modules $(VENV)/.locale-compiled
