# Two commands on a fresh machine: `make demo` and `make test`. Each creates/updates .venv by itself:
# torch is pinned and installed first (the CPU build where one is on disk), then the project with constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.nsp-installed
# two test workers, each on its own core (tests/conftest.py); the slowest tests named at the end of every run
PYTEST_ARGS ?= -n 2 --durations=15
export TORCH_EXTENSIONS_DIR ?= $(CURDIR)/.cache/torch_extensions

.PHONY: demo test bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: venv
	$(BIN)/nsp demo

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .cache .pytest_cache runs
