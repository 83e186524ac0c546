# The two commands (README): `make demo` runs the main job, `make test` the test suite.
# Both start with the idempotent set-up (first time on a machine: ~25 min for the mmcv build).
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast
setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/run_demo.py

# Unit and integration tiers side by side (tools/run_tests.sh); PYTEST_ARGS go to both.
test: setup
	bash tools/run_tests.sh $(PYTEST_ARGS)

# The unit tier alone, in UNIT_WORKERS pytest-xdist workers of one thread each (both cores).
UNIT_WORKERS ?= 2
test-fast: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(UNIT_WORKERS) -m "not integration" $(PYTEST_ARGS)
