# The two commands that matter: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.installed
BENCH ?=
PYTEST_ARGS ?=

.PHONY: run serve-prod test lint format bench install system-deps messages migrate demo clean screenshots

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@bash scripts/system_deps.sh

migrate: install
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) demo_data

## make run: set up, migrate, load demo data, start web + Celery worker + beat (Ctrl-C stops all).
run: system-deps install
	@mkdir -p var
	$(MANAGE) migrate --noinput
	$(MANAGE) demo_data
	@echo "Serving http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile.dev start

## make serve-prod: the production-like stack (nginx + gunicorn with production settings + Celery worker
## + beat) against the local PostgreSQL and Redis, with the configuration files of docker-compose.yml.
## http://127.0.0.1:8080/ ; SERVE_PROD_PORT, SERVE_PROD_DATABASE_URL, ... in scripts/serve_prod.py.
serve-prod: system-deps install
	$(BIN)/python scripts/serve_prod.py

## make test: the whole pytest suite (SQLite + eager Celery unless DATABASE_URL / CELERY_BROKER_URL are set).
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make bench [BENCH=name]: print `bench <name>.<figure>: <value> <unit>` lines, measured on the
## deployed configuration (production settings, PostgreSQL, Redis, nginx + gunicorn: scripts/serve_prod.py).
## DJANGO_SETTINGS_MODULE=portal.settings.test gives the in-process ones (payments, accounts) on SQLite:
## extra lines, not figures of record (benchmarks/harness.py).
bench: system-deps install
	$(BIN)/python -m benchmarks $(BENCH)

## make screenshots: the platform guide's phone screenshots of the real pages (zh-Hans and English) into
## static/portal/guide/, and the README's guide-phone.png and programmes-phone.png (tests/browser/test_guide.py).
screenshots: install
	PORTAL_GUIDE_SCREENSHOTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/browser/test_guide.py -k write_the

## make messages: refresh and compile the translation catalogues (needs GNU gettext).
## The site shell (portal/ and templates/) uses locale/; each app keeps its own <app>/locale/.
APPS := registration payments learning exams certificates
messages: install
	$(MANAGE) makemessages -l zh_Hans -l en --no-obsolete --ignore=.venv --ignore=var --ignore=tests \
		--ignore=benchmarks $(foreach a,$(APPS),--ignore=$(a))
	for a in $(APPS); do (cd $$a && mkdir -p locale && ../$(BIN)/django-admin makemessages -l zh_Hans -l en --no-obsolete); done
	$(MANAGE) compilemessages --ignore=.venv

clean:
	rm -rf var/celery var/static
