# streamvault: `make demo` runs the main job, `make test` runs the tests. Both install what is missing.
VENV := .venv
PY := $(VENV)/bin/python
STREAMVAULT := $(VENV)/bin/streamvault

.PHONY: install system-packages deploy-tools superset demo test bench bench-parked bench-memory soak stack-up stack-down clean

install: system-packages $(VENV)/.installed

system-packages:
	@scripts/install-system-packages.sh

# helm, built with the Go toolchain into .tools/bin (tests/test_deploy.py renders the chart with it).
deploy-tools:
	@scripts/install-deploy-tools.sh

# Apache Superset in its own virtualenv (in ~/.cache/streamvault, shared by clones; linked as .tools/superset):
# tests/dashboard/test_superset_import.py imports the exported bundle into it.
superset:
	@scripts/install-superset.sh

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

demo: install
	$(STREAMVAULT) demo

# Two workers, a module's tests on one worker (module-scoped servers start once); each worker has its own
# session stack. Most of the suite waits on servers (outages of 20 s, restarts), so two overlap well on 2 cores.
test: install deploy-tools superset
	$(VENV)/bin/pytest -n 2 --dist loadfile --durations=30

# End-to-end throughput on the local stack, one and two replicas per service; then freshness (publish ->
# marts) under a steady stream of 200, 1,000 and 3,000 orders/s; back-to-back Kafka transactions with the
# services' producer against librdkafka's default retry backoff (JSON lines; docs/performance.md).
bench: install
	$(STREAMVAULT) stack up
	$(PY) benchmarks/pipeline_throughput.py --orders 30000
	$(PY) benchmarks/pipeline_throughput.py --orders 30000 --replicas 2
	$(PY) benchmarks/freshness.py --rate 200
	$(PY) benchmarks/freshness.py --rate 1000
	$(PY) benchmarks/freshness.py --rate 3000
	$(PY) benchmarks/transactions.py

# An hour at 1,000 orders/s: RSS, lag, freshness and rows per minute into soak/ (CSV, PNG, JSON). Not in CI.
# SOAK_HISTORY=60 first loads an hour of orders (~20 min), so that the hour measures a warehouse with history.
SOAK_HISTORY ?= 0
soak: install
	$(PY) -m pip install -q -e ".[test,bench]"
	$(STREAMVAULT) stack up
	$(PY) benchmarks/soak.py --minutes 60 --rate 1000 --history-minutes $(SOAK_HISTORY) --out soak

# What 10,000 permanently parked orders cost an idle STG: row updates/s and CPU (JSON line, ~3 min).
bench-parked: install
	$(STREAMVAULT) stack up
	$(PY) benchmarks/parked_idle.py --orders 10000

# Peak RSS of each service on a backlog of 1,000,000 orders by 50,000 users (JSON line).
bench-memory: install
	$(STREAMVAULT) stack up
	$(PY) benchmarks/memory.py --orders 1000000 --users 50000

stack-up: install
	$(STREAMVAULT) stack up

stack-down: install
	$(STREAMVAULT) stack down

clean:
	-$(STREAMVAULT) stack down
	rm -rf $(VENV) .streamvault .tools
