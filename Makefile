# The two commands a newcomer runs: `make demo` and `make test`.
# Each creates .venv from this project's own files when it is missing or out of date.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the test suite needs (installed with apt-get when missing): Chromium for the
# browser tests, PostgreSQL's server binaries for the store's second backend (tests/support/postgres.py).
APT_PACKAGES := chromium postgresql
PYTEST_ARGS ?=
SERVE ?= 1

.PHONY: test lint format demo serve venv system-deps clean bench bench-quick

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Lint and types first (seconds), then the suite. Configured in pyproject.toml ([tool.ruff], [tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Apply ruff's safe fixes and its formatting.
format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS) --ignore=tests/test_airflow.py
	$(MAKE) --no-print-directory test-postgresql
	@if [ -x $(AIRFLOW_BIN)/airflow ]; then $(MAKE) --no-print-directory test-airflow; \
	else echo "skipped: make test-airflow (no $(AIRFLOW_VENV); make airflow creates it)"; fi

# The second backend: every test whose state make_env builds (tests/support/sync.py), again with
# its state on PostgreSQL (TOOLKIT_TEST_BACKEND): the engine's, the audit's, the reliability
# suite's, the server's, the command line's, the apps' (headless). Not the browser tests and the
# notebooks' (the same apps and notebooks, served: about 6 minutes more). The store's own tests,
# the quota's and the notifications' run on both backends in the first pass already; the
# multi-worker tests (tests/reliability/test_workers.py) run on PostgreSQL only.
PG_TESTS := tests/sync tests/audit tests/reliability tests/serve tests/ui \
	tests/cli/test_sync.py tests/cli/test_report_brevo_app_url.py tests/brevo/test_sdk_models.py \
	tests/test_connections.py tests/test_disconnect.py tests/notify/test_addresses.py

.PHONY: test-postgresql
test-postgresql: $(STAMP) system-deps
	TOOLKIT_TEST_BACKEND=postgresql $(BIN)/python -m pytest $(PG_TESTS) $(PYTEST_ARGS) \
		--ignore=tests/reliability/test_workers.py

demo: $(STAMP)
	$(BIN)/toolkit demo $(if $(filter 0,$(SERVE)),--no-serve,)

# `toolkit serve` on the sandbox: the demo's integrations run by themselves, Brevo webhooks arrive.
serve: $(STAMP)
	$(BIN)/toolkit demo --server

# Benchmarks of issue 6 against the sandbox (not part of `make test`); see bench/RESULTS.md.
BENCH_ARGS ?=

bench: $(STAMP)
	$(BIN)/python -m bench --out bench/results-full.json $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick --json --out bench/results-quick.json $(BENCH_ARGS)

# The reliability suite's large sizes (issue 7): 5% faults at 20,000 and 100,000 contacts.
.PHONY: soak
soak: $(STAMP)
	$(BIN)/python -m pytest tests/reliability -m soak $(PYTEST_ARGS)

# Apache Airflow and its papermill provider in their own cached virtualenv (issue 16), with this
# project installed in it: `airflow dags test` of scheduling/airflow_dag.py runs there. Airflow's
# constraints file is not fetched (no network but the registries): the versions that installed and
# passed are pinned in scheduling/constraints-airflow.txt; `make airflow-freeze` rewrites it.
AIRFLOW_VENV := .venv-airflow
AIRFLOW_BIN := $(AIRFLOW_VENV)/bin
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
AIRFLOW_REQS := scheduling/requirements-airflow.txt
AIRFLOW_CONSTRAINTS := scheduling/constraints-airflow.txt

.PHONY: airflow airflow-freeze test-airflow

$(AIRFLOW_STAMP): pyproject.toml $(AIRFLOW_REQS) $(AIRFLOW_CONSTRAINTS)
	test -x $(AIRFLOW_BIN)/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_BIN)/python -m pip install -q --upgrade pip
	$(AIRFLOW_BIN)/python -m pip install -q -c $(AIRFLOW_CONSTRAINTS) -r $(AIRFLOW_REQS) \
		-e '.[sandbox,notebooks,postgresql]'
	touch $(AIRFLOW_STAMP)

airflow: $(AIRFLOW_STAMP)

airflow-freeze:
	{ echo "# pip freeze of $(AIRFLOW_VENV) after \`make airflow\`: Airflow's own constraints file cannot be"; \
	  echo "# fetched here. \`make airflow-freeze\` rewrites this file."; \
	  $(AIRFLOW_BIN)/python -m pip freeze --exclude-editable | grep -v '^-e '; } > $(AIRFLOW_CONSTRAINTS)

# `airflow dags test` of the DAG on the sandbox, its state on PostgreSQL (tests/test_airflow.py);
# `make test` runs it when $(AIRFLOW_VENV) exists.
test-airflow: $(STAMP) $(AIRFLOW_STAMP) system-deps
	$(BIN)/python -m pytest tests/test_airflow.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) .pytest_cache build *.egg-info
