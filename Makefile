# HọcBạ — `make run` serves the demo; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
BENCH ?=
BENCH_SCALE ?= full
PYTEST_ARGS ?=
export PYTHONPATH := $(CURDIR)/platform:$(CURDIR)

.PHONY: install run test test-fast bench check lint messages helm clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || PYTHON=python3; $${PYTHON:-$(PYTHON)} -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[dev,embedded]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## the demo: embedded services when none are configured, migrate, seed, web + worker + beat
	$(PY) -m hocba.dev.run

test: $(STAMP)  ## the whole suite against real PostgreSQL (configured, else embedded)
	$(PY) manage.py makemigrations --check --dry-run --settings=hocba.settings.test >/dev/null
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: $(STAMP)  ## the suite without the browser and real-server tests
	$(PY) -m pytest -q -m "not browser and not server" $(PYTEST_ARGS)

bench: $(STAMP)  ## benchmarks; BENCH=<name> for one, BENCH_SCALE=small for a quick pass
	$(PY) -m bench.run --scale $(BENCH_SCALE) $(if $(BENCH),--only $(BENCH),)

lint: $(STAMP)  ## ruff, the import contracts (.importlinter) and the project's own rules (hocba.dev.lint)
	$(VENV)/bin/ruff check platform tenants schools reporting tests bench
	$(VENV)/bin/ruff format --check platform tenants schools reporting tests bench
	$(VENV)/bin/lint-imports .importlinter
	$(PY) -m hocba.dev.lint

check: lint test

helm: $(STAMP)  ## lint the chart and render values-small/-large (with and without KEDA); helm from infra/get-helm.sh
	@set -e; HELM=$$(sh infra/get-helm.sh $(PY)); province=helm/hocba/ci/province-values.yaml; \
	"$$HELM" lint --strict helm/hocba -f $$province; \
	for size in small large; do \
		echo "helm: values-$$size.yaml"; \
		"$$HELM" lint --strict helm/hocba -f helm/hocba/values-$$size.yaml -f $$province; \
		"$$HELM" template hocba helm/hocba -f helm/hocba/values-$$size.yaml -f $$province >/dev/null; \
		"$$HELM" template hocba helm/hocba -f helm/hocba/values-$$size.yaml -f $$province \
			--api-versions keda.sh/v1alpha1 >/dev/null; \
	done

messages: $(STAMP)  ## extract our (Vietnamese) strings into the English catalogue, then compile both
	HOCBA_DB_ROLE=owner $(PY) manage.py makemessages -l en --ignore='.venv/*' --ignore='.data/*' --ignore='tests/*' \
		--ignore='bench/*' --ignore='.tools/*' --no-obsolete
	$(PY) -m hocba.i18n_compile

clean:
	rm -rf $(VENV) .tools
