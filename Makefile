# FactorGate: the demo, the tests and the benchmarks on one Debian/Ubuntu
# machine, as root. Every target installs what it needs, so a fresh clone
# works: `make demo`, `make test`.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
BIN := $(abspath $(VENV)/bin)
# Molecule and ansible-test call ansible-* by name, so the venv comes first.
export PATH := $(BIN):$(PATH)
COLLECTION_LINK := .collections/ansible_collections/factorgate/mfa
PYTEST_DIRS = $(wildcard server/tests tests/nitro_simulator/tests tests/integration)

.PHONY: help deps venv collection test-ad demo demo-down test test-server \
	test-integration test-ansible test-molecule bench ansible-test-copy \
	test-ansible-sanity test-ansible-units test-netscaler

help:
	@echo "make demo        start the test AD and the two-node demo pair (root)"
	@echo "make demo-down   stop the demo pair and the test AD"
	@echo "make test        run every test suite (root; starts the test AD)"
	@echo "                 parts: test-server test-integration test-ansible test-netscaler"
	@echo "make bench       run server/bench/bench_*.py"

# --- setup ---------------------------------------------------------------------

deps:
	scripts/install-deps
	@# The virtualenv needs ensurepip, which Debian ships in python3-venv.
	@python3 -c 'import ensurepip' 2>/dev/null || { \
	  apt-get update && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y --no-install-recommends python3-venv </dev/null; }

venv: $(VENV)/.installed

$(VENV)/.installed: server/pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PYTHON) -m pip install --quiet --disable-pip-version-check \
	  'ansible-core>=2.19,<2.20' 'molecule>=26,<27' -e './server[test]'
	touch $@

# The repository root is the collection factorgate.mfa; ansible.cfg looks
# for collections in .collections/.
collection: $(COLLECTION_LINK)

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

test-ad: deps venv
	scripts/test-ad up

# --- demo ----------------------------------------------------------------------

demo: deps venv collection
	scripts/demo up

demo-down:
	scripts/demo down

# --- tests ---------------------------------------------------------------------

test: test-server test-integration test-ansible

test-server: deps venv
	$(PYTHON) -m pytest server/tests $(wildcard tests/nitro_simulator/tests)

test-integration: test-ad collection
	$(PYTHON) -m pytest tests/integration

test-ansible: test-molecule test-ansible-sanity test-ansible-units

# ansible-test needs the collection under ansible_collections/factorgate/mfa
# and resolves symlinks, so it runs on a copy of the collection's content.
# Its --venv bootstrap downloads get-pip from a host that is not reachable
# here; the stand-in bootstraps pip with ensurepip instead.
ANSIBLE_TEST_COPY := $(or $(TMPDIR),/tmp)/factorgate-ansible-test/ansible_collections/factorgate/mfa
GET_PIP_STAND_IN := $(HOME)/.ansible/test/cache/get_pip_24_2.py

ansible-test-copy: venv
	rm -rf $(ANSIBLE_TEST_COPY) && mkdir -p $(ANSIBLE_TEST_COPY)
	cp -r --parents galaxy.yml meta plugins roles playbooks docs tests/unit tests/sanity \
	  tests/integration/targets $(ANSIBLE_TEST_COPY)/
	mkdir -p $(dir $(GET_PIP_STAND_IN))
	printf '%s\n' 'import subprocess, sys' \
	  'sys.exit(subprocess.call([sys.executable, "-m", "ensurepip", "--upgrade"]))' > $(GET_PIP_STAND_IN)

test-ansible-sanity: ansible-test-copy
	cd $(ANSIBLE_TEST_COPY) && $(BIN)/ansible-test sanity --venv --python 3.11

test-ansible-units: ansible-test-copy
	cd $(ANSIBLE_TEST_COPY) && $(BIN)/ansible-test units --venv --python 3.11

# The netscaler_* modules and role against the NITRO simulator (no root, no AD).
test-netscaler: venv collection
	$(PYTHON) -m pytest tests/integration/test_netscaler_targets.py tests/integration/test_netscaler_gateway_role.py

test-molecule: test-ad collection
	$(BIN)/molecule test --scenario-name pair

# --- benchmarks ----------------------------------------------------------------

bench: test-ad collection
	@found=0; \
	for script in server/bench/bench_*.py; do \
	  [[ -e $$script ]] || continue; \
	  found=1; echo "== $$script"; $(PYTHON) $$script; \
	done; \
	[[ $$found -eq 1 ]] || echo "no server/bench/bench_*.py yet"
