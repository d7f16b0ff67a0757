# songspace: two commands from a fresh clone.
#   make demo   set up, then cluster the built-in bilingual demo collection
#   make test   set up, then run the test suite
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin

.PHONY: setup demo test bench lint clean weights

setup: $(VENV)/.installed

# constraints.txt pins torch to the CPU build (a looser pin pulls GBs of CUDA wheels) and every other
# dependency to the versions the tests ran with.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@sh scripts/install-system.sh
	touch $@

# musicnn's trained weights from its PyPI wheel into ~/.cache/songspace/weights (once; see README). Offline, the
# step says so and songspace runs without musicnn (its tests are skipped).
weights: setup
	-$(BIN)/songspace weights fetch

demo: setup weights
	$(BIN)/songspace demo

test: setup weights
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/features.py
	$(BIN)/python benchmarks/demo_time.py

lint: setup
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
