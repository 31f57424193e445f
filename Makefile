PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow test-nolanes test-all lint bench bench-user calibrate clean browser

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/neurobone warm-up --model neurobone  # compile the main kernels now (cached)
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/neurobone run

# ruff and the import contract (layers, no cycles), then the fast tests, a file per worker
# on each of the machine's two cores (kernels compile in both at once)
test: install lint browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

# the long tests (Dask, killed processes, calibration targets, large cohorts)
test-slow: install browser
	$(BIN)/python -m pytest -q -m slow --durations=10

# the engine without the SIMD lanes, on a representative subset
test-nolanes: install
	NEUROBONE_LANES=0 $(BIN)/python -m pytest -q tests/test_engine.py tests/test_subjects.py tests/test_cohort.py

test-all: test test-slow test-nolanes

bench: install
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_cohort.py

bench-user: install
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_user_path.py

# refit every mechanism hypothesis (writes src/neurobone/data/calibration/*.json), then
# regenerate docs/calibration.md from a fresh evaluation of every target row
calibrate: install
	$(BIN)/python -m neurobone.fit.pipeline
	$(BIN)/python -m neurobone.fit.report > docs/calibration.md.tmp && mv docs/calibration.md.tmp docs/calibration.md

clean:
	rm -rf $(VENV) build *.egg-info

# Debian's Chromium and ChromeDriver for the browser tests of the web app (tests/test_web.py)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver)
