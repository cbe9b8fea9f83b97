# nerbench without conda: a virtual environment from the lock file, hyperfine, then Snakemake.
#   make bench        the full grid of config.yaml
#   make smoke        the tiny grid of configs/smoke.yaml (< 3 minutes)
#   make test         unit tests and an end-to-end smoke run (what .ci/run calls)
#   make cell METHOD=ort-hf DEVICE=cpu BS=8    re-time one cell, then the tables
#   make tables       rebuild tables.md and summary.csv from the cells already measured
#   make report       the HTML report (snakemake --report) beside tables.md
#   make compare A=results/x B=results/y   side-by-side ratios of two results directories
#   make lint         snakemake --lint and snakefmt --check

SHELL := /bin/bash
PYTHON ?= python3
CONFIG ?= config.yaml
CORES ?= 1
# The environment is keyed by the lock files' contents: a new clone with the same lock reuses
# it, and any change to the lock builds a fresh one.
LOCK_HASH := $(shell cat requirements.lock requirements-nodeps.txt | sha256sum | cut -c1-12)
VENV ?= $(HOME)/.cache/nerbench/venv-$(LOCK_HASH)
BIN := $(VENV)/bin
RUN = PATH="$(abspath $(BIN)):$$PATH" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
SNAKEMAKE = $(RUN) $(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG)
# The config's results folder (expanded when a recipe runs, after the venv exists).
RESULTS = $(shell $(BIN)/python -c "import yaml; print(yaml.safe_load(open('$(CONFIG)')).get('results', 'results'))")

.PHONY: venv hyperfine bench smoke test lint cell tables lock clean compare report

# The stamp names the lock's hash rather than depending on the lock files' times, which are new
# in every fresh clone: the same lock never installs twice.
STAMP := $(VENV)/.installed-$(LOCK_HASH)

venv: $(STAMP)

$(STAMP):
	@echo "creating $(VENV) from requirements.lock (torch is a large download on first install)"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

hyperfine:
	@command -v hyperfine >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; \
	  else \
	    echo "hyperfine is missing: install it with 'sudo apt-get install hyperfine' or 'cargo install hyperfine'" >&2; exit 1; \
	  fi; }
	@hyperfine --version

bench: venv hyperfine
	$(SNAKEMAKE)

smoke: CONFIG = configs/smoke.yaml
smoke: bench

cell: venv hyperfine
	@test -n "$(METHOD)" -a -n "$(DEVICE)" -a -n "$(BS)" || { echo "usage: make cell METHOD=ort-hf DEVICE=cpu BS=8" >&2; exit 2; }
	$(SNAKEMAKE) --forcerun $(RESULTS)/cells/$(METHOD)/$(DEVICE)-bs$(BS).json

tables: venv
	$(SNAKEMAKE) --forcerun tables

report: venv
	$(SNAKEMAKE) --report $(RESULTS)/report.html

test: venv hyperfine
	cargo test --release --locked --manifest-path onnxruntime-ner/Cargo.toml
	$(RUN) $(BIN)/python -m pytest -q tests

lint: venv
	$(RUN) $(BIN)/snakemake --lint --configfile $(CONFIG)
	$(RUN) $(BIN)/snakefmt --check Snakefile workflow/rules

lock:
	rm -rf /tmp/nerbench-lock && $(PYTHON) -m venv /tmp/nerbench-lock
	/tmp/nerbench-lock/bin/pip install --quiet --upgrade pip
	/tmp/nerbench-lock/bin/pip install --quiet -r requirements.in
	{ head -2 requirements.lock; /tmp/nerbench-lock/bin/pip freeze; } > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf results .snakemake

compare: venv
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make compare A=results/before B=results/after" >&2; exit 2; }
	$(RUN) $(BIN)/python workflow/scripts/compare.py $(A) $(B)
