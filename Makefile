# streamvault: `make demo` runs the main job, `make test` runs the tests. Both install what is missing.
VENV := .venv
PY := $(VENV)/bin/python
STREAMVAULT := $(VENV)/bin/streamvault

.PHONY: install system-packages demo test stack-up stack-down clean

install: system-packages $(VENV)/.installed

system-packages:
	@scripts/install-system-packages.sh

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

demo: install
	$(STREAMVAULT) demo

test: install
	$(VENV)/bin/pytest

stack-up: install
	$(STREAMVAULT) stack up

stack-down: install
	$(STREAMVAULT) stack down

clean:
	-$(STREAMVAULT) stack down
	rm -rf $(VENV) .streamvault
