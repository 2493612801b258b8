# The two commands a newcomer runs: `make demo` and `make test`.
# Each creates .venv from this project's own files when it is missing or out of date.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the test suite needs (installed with apt-get when missing).
APT_PACKAGES :=
PYTEST_ARGS ?=
SERVE ?= 1

.PHONY: test demo venv system-deps clean

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

test: $(STAMP) system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/toolkit demo $(if $(filter 0,$(SERVE)),--no-serve,)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
