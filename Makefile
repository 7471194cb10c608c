# nngraph: `make demo` and `make test` set everything up themselves (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	PYTHON=$(PYTHON) VENV=$(VENV) sh scripts/setup.sh
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/lesson_network.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/population_bench.py
	$(BIN)/python benchmarks/cnn_build.py
	$(BIN)/python benchmarks/render_bench.py
	$(BIN)/python benchmarks/html_bench.py
	$(BIN)/python benchmarks/recurrent_bench.py
	$(BIN)/python benchmarks/compile_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis out
