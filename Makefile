# `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-sqlite test-postgres bench clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

run: install
	$(BIN)/orderdesk demo

# The whole suite, on SQLite and then on PostgreSQL when one is reachable (CI always has one).
test: install
	$(BIN)/python -m pytest
	@if $(BIN)/python -m orderdesk.store.probe "$${ORDERDESK_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"; then \
		ORDERDESK_TEST_DATABASE_URL="$${ORDERDESK_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}" $(BIN)/python -m pytest; \
	elif [ -n "$$CI" ]; then echo "PostgreSQL is not reachable and CI requires it" >&2; exit 1; \
	else echo "PostgreSQL is not reachable: the PostgreSQL run is skipped (outside CI only)" >&2; fi

# Not part of the tests: seeds, serves and loads the server with wrk (installed from Debian if missing).
bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
