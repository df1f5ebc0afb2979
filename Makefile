# evalbatch developer tasks. `make demo` is the one-command start on a fresh Debian 12 machine.
VENV := .venv
BIN := $(VENV)/bin
BENCH_SCRIPTS := $(wildcard bench/*.py)
PYTEST_ARGS ?=  # e.g. make test PYTEST_ARGS="-m 'not e2e'"

.PHONY: install demo test lint bench up down clean

install:
	scripts/bootstrap.sh

demo: install
	$(BIN)/evalbatch demo

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	@set -e; for script in $(BENCH_SCRIPTS); do echo "== $$script"; $(BIN)/python $$script --quick; done

up: install
	$(BIN)/evalbatch up

down:
	@if [ -x $(BIN)/evalbatch ]; then $(BIN)/evalbatch down; else echo "no $(VENV): nothing to stop"; fi

# Stops the local stack, then deletes its data (.evalbatch/) and build/test leftovers; keeps .venv.
clean: down
	rm -rf .evalbatch test-artifacts build dist .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
