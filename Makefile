# The everyday commands of paysim. Everything installs into .venv; Kafka jars and the
# stripe-mock binary go to $(PAYSIM_CACHE_DIR) (default ~/.cache/paysim) on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install infra demo test test-unit lint format lab down clean load bench

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "paysim needs Python 3.11, got " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name paysim --display-name "paysim (Python 3.11)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

infra: install            ## start Kafka and stripe-mock (fetched and built on first use)
	$(BIN)/paysim infra up

down: install             ## stop them
	$(BIN)/paysim infra down

demo: install             ## the main job: a run against real Kafka and stripe-mock, with a report
	$(BIN)/paysim demo

test: install             ## every test and every notebook, against the real stack
	$(BIN)/pytest tests notebooks --nbval-lax $(PYTEST_ARGS)

test-unit: install
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check paysim tests loadtests
	$(BIN)/mypy

format: install
	$(BIN)/ruff format paysim tests loadtests
	$(BIN)/ruff check --fix paysim tests loadtests

load: install             ## locust: 20 users for 60 s with faults injected, then the invariants
	$(BIN)/locust -f loadtests/locustfile.py --headless --users 20 --spawn-rate 5 \
		--run-time 60s --only-summary --exit-code-on-error 0

bench: install            ## throughput, latency, CPU and memory figures (paysim bench)
	$(BIN)/paysim bench

lab: install              ## JupyterLab on the notebooks, with the paysim kernel
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
