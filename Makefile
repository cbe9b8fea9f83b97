# nerbench without conda: a virtual environment from the lock file, hyperfine, then Snakemake.
#   make bench        the full grid of config.yaml
#   make smoke        the tiny grid of configs/smoke.yaml (< 3 minutes)
#   make check        lint, cargo test and the unit tier: no Snakemake run, no model build (< 2 minutes)
#   make test         make check, then the end-to-end tier: the smoke run, faults, SLURM (what .ci/run calls)
#   make cell METHOD=ort-hf DEVICE=cpu BS=8 [MACHINE=name] [SCENARIO=server]   re-time one cell, then the tables
#   make tables       rebuild tables.md and summary.csv from the cells already measured
#   make report       the HTML report (snakemake --report) beside tables.md
#   make compare A=results/x B=results/y   side-by-side ratios of two results directories
#                                           (DRIFT=2.5: a cell's drift between grids, in %)
#   make lint         snakemake --lint, snakefmt --check, ruff, cargo fmt --check, cargo clippy
#   make shell        a shell in this clone's environment (eval "$(make -s activate)": this one)
#   make clean        what can be rebuilt; make clean-results: the config's results folder
#   make wheels       a folder of every wheel the lock names, for an offline install (WHEELS=dir)
#   make test-install / test-slow / fuzz    the longer tests (offline install, BERT F1 floor, fuzzing)
#   make families     the smoke grid on every encoder family, a row per family
# Options: CONFIG=configs/x.yaml, MODEL=path/to/model or MODEL=hub:org/name[@revision], CORES=N, PROFILE=slurm, SNAKEMAKE_ARGS="-n ...", VENV=dir, WHEELS=dir,
# HOST_TORCH=1, TEST_WORKERS=N.

SHELL := /bin/bash
PYTHON ?= python3
CONFIG ?= config.yaml
CORES ?= 1
# The environment is keyed by the lock files' contents and the interpreter that builds it: a new
# clone with the same lock and Python reuses it; another lock, or another interpreter (whose own
# site-packages a HOST_TORCH environment uses), builds a fresh one.
LOCK_HASH := $(shell cat requirements.lock requirements-nodeps.txt | sha256sum | cut -c1-12)
PYTHON_HASH := $(shell $(PYTHON) -c 'import sys; print(sys.executable, sys.version)' 2>/dev/null | sha256sum | cut -c1-8)
VENV ?= $(HOME)/.cache/nerbench/venv-$(LOCK_HASH)-py$(PYTHON_HASH)$(if $(HOST_TORCH),-host-torch)
BIN := $(VENV)/bin
# The stamp names the lock's hash rather than depending on the lock files' times, which are new
# in every fresh clone: the same lock never installs twice.
STAMP := $(VENV)/.installed-$(LOCK_HASH)
TOOLS := $(HOME)/.cache/nerbench/tools

# What the command line gives reaches the recipes as environment variables, always quoted there,
# never pasted into a shell command: a path with a space or a ';' stays a path.
export NERBENCH_CONFIG = $(CONFIG)
export MACHINE METHOD DEVICE BS SCENARIO A B WHEELS HOST_TORCH PYTHON
RUN = PATH="$(abspath $(BIN)):$(TOOLS)/bin:$$PATH" TOKENIZERS_PARALLELISM=false
# MODEL=path/to/model or MODEL=hub:org/name[@revision], on the command line only (a MODEL the shell
# happens to export changes nothing): the config's model replaced by that one, its results in their
# own folder; query.py writes that config there and the recipe reads its path.
export NERBENCH_MODEL = $(if $(filter command line,$(origin MODEL)),$(MODEL))
WITH_MODEL = $(if $(NERBENCH_MODEL),model_config="$$($(QUERY) model "$$NERBENCH_MODEL" $(CONFIGS_OF_USER))" || exit 1;)
# The config files in the order Snakemake reads them, for query.py: config.yaml, CONFIG's, MODEL's.
CONFIGS_OF_USER = config.yaml$(if $(filter config.yaml,$(CONFIG)),, "$$NERBENCH_CONFIG")
CONFIGS = $(CONFIGS_OF_USER)$(if $(NERBENCH_MODEL), "$$model_config")
# The Snakefile reads config.yaml itself; another config extends it key by key (one --configfile
# takes them all: a second would replace the first's list).
CONFIG_FILE_ARGS = $(if $(filter config.yaml,$(CONFIG)),,--configfile "$$NERBENCH_CONFIG")
EXTRA_CONFIGS = $(if $(filter config.yaml,$(CONFIG)),,"$$NERBENCH_CONFIG")$(if $(NERBENCH_MODEL), "$$model_config")
CONFIG_ARGS = $(if $(strip $(EXTRA_CONFIGS)),--configfile $(EXTRA_CONFIGS))
# PROFILE=slurm: the grid on a SLURM cluster (profiles/slurm/config.yaml).
PROFILE_ARGS = $(if $(PROFILE),--workflow-profile profiles/$(PROFILE))
SNAKEMAKE = $(RUN) $(BIN)/snakemake --cores $(CORES) $(CONFIG_ARGS) $(PROFILE_ARGS) $(SNAKEMAKE_ARGS)
CRATE = --manifest-path onnxruntime-ner/Cargo.toml
# What the grid says of the config (workflow/scripts/query.py): its results folder, a cell's file.
QUERY = $(BIN)/python workflow/scripts/query.py
RESULTS_FOLDER = results="$$($(QUERY) value results $(CONFIGS))"

.PHONY: venv hyperfine bench smoke check test lint cell tables lock clean clean-results shell activate compare report \
	wheels test-install test-slow \
	fuzz slurm-packages browser-packages families rust-target scale

venv: $(STAMP)

$(STAMP):
	tools/install-venv "$(VENV)" requirements.lock requirements-nodeps.txt "$(STAMP)"

# hyperfine 1.20 measures each run's peak memory too; it builds from the crate registry into the
# project's tool folder in about a minute. Where cargo is missing, Debian's 1.15 (no memory).
HYPERFINE_VERSION := 1.20.0
hyperfine:
	@if ! "$(TOOLS)/bin/hyperfine" --version 2>/dev/null | grep -qx "hyperfine $(HYPERFINE_VERSION)"; then \
	  if command -v cargo >/dev/null; then \
	    echo "building hyperfine $(HYPERFINE_VERSION) into $(TOOLS)"; \
	    cargo install --quiet --locked "hyperfine@$(HYPERFINE_VERSION)" --root "$(TOOLS)"; \
	  elif ! command -v hyperfine >/dev/null; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; \
	    else \
	      echo "hyperfine is missing: install cargo (then make hyperfine), or 'sudo apt-get install hyperfine'" >&2; exit 1; \
	    fi; \
	  fi; \
	fi
	@$(RUN) hyperfine --version

# Compiled Rust is kept across clones, as the environment is: a fresh clone's onnxruntime-ner/target
# becomes a link to one folder in the cache, so a new clone (CI's) does not compile the crate's
# dependencies again. Cargo locks the folder while it builds; the workflow's build_rust holds a lock
# of its own until it has copied its binary out. A target/ that is already there is left as it is.
CARGO_CACHE := $(HOME)/.cache/nerbench/cargo-target
rust-target:
	@mkdir -p "$(CARGO_CACHE)"
	@[ -e onnxruntime-ner/target ] || [ -L onnxruntime-ner/target ] || ln -s "$(CARGO_CACHE)" onnxruntime-ner/target

# It says first what it will do: the model to build, the cells, how long where earlier runs tell.
bench: venv hyperfine rust-target
	@$(WITH_MODEL) $(QUERY) plan $(CONFIGS)
	$(WITH_MODEL) $(SNAKEMAKE)

smoke: CONFIG = configs/smoke.yaml
smoke: bench

cell: venv hyperfine rust-target
	@test -n "$$METHOD" -a -n "$$DEVICE" -a -n "$$BS" || { echo "usage: make cell METHOD=ort-hf DEVICE=cpu BS=8 [MACHINE=name] [SCENARIO=server]" >&2; exit 2; }
	$(WITH_MODEL) files="$$($(QUERY) cell $${MACHINE:+--machine "$$MACHINE"} --method "$$METHOD" --device "$$DEVICE" \
	  --batch-size "$$BS" $${SCENARIO:+--scenario "$$SCENARIO"} $(CONFIGS))" && mapfile -t files <<< "$$files" && $(SNAKEMAKE) --forcerun "$${files[@]}"

tables: venv
	$(WITH_MODEL) $(SNAKEMAKE) --forcerun summary tables

report: venv
	$(WITH_MODEL) $(RESULTS_FOLDER) && $(SNAKEMAKE) --report "$$results/report.html"

# Tests never reach the Hugging Face Hub (the machines they run on cannot); the pipeline itself
# is offline only where it means to be (the ONNX export), so `model.source: hub` downloads.
# Two tiers (tests/conftest.py marks the end-to-end tests): `check` for the edit-test loop, `test`
# for everything that CI runs.
PYTEST = $(RUN) HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q
# Both tiers run in one pytest worker per core (TEST_WORKERS=0: one process); the tests that
# measure the whole host's CPU run after the end-to-end tier, alone.
TEST_WORKERS ?= auto
IN_WORKERS = -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder
check: venv rust-target lint
	cargo test --release --locked $(CRATE)
	NERBENCH_TIER=unit $(PYTEST) --durations=5 $(IN_WORKERS) -m "not e2e and not complete and not install and not slow" tests

# The two runs share one smoke run's folder (tests/conftest.py's `smoke`), so the second does not
# build the smoke model again.
test: venv hyperfine slurm-packages browser-packages check
	smoke="$$(mktemp -d)" && trap 'rm -rf "$$smoke"' EXIT && \
	export NERBENCH_SMOKE_WORKDIR="$${NERBENCH_SMOKE_WORKDIR:-$$smoke}" && \
	$(PYTEST) --durations=20 $(IN_WORKERS) -m "(e2e or complete) and not alone and not install and not slow" tests && \
	$(PYTEST) -m "alone and not install and not slow" tests

# How long Snakemake's plan and the whole-grid steps take for 215 and 1,300 synthetic cells.
scale: venv
	$(RUN) $(BIN)/python tests/synthetic.py "$$(mktemp -d)" --time

# Longer runs, each its own target: the offline install on a host's torch (several GB), the
# BERT-headed MiniLM's fine-tune and F1 floor, the fuzzers with a large budget and a fresh seed.
test-install: venv
	$(RUN) $(BIN)/python -m pytest -q -m install tests

test-slow: venv hyperfine rust-target
	cargo build --release --locked $(CRATE)
	$(RUN) HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m slow tests

fuzz: venv rust-target
	cargo build --release --locked $(CRATE)
	$(RUN) HF_HUB_OFFLINE=1 NERBENCH_FUZZ=long $(BIN)/python -m pytest -q tests/test_fuzz.py

# The report's test opens it in headless Chromium (tests/browser.py): Debian's headless shell, as root;
# elsewhere that test is skipped, saying why.
BROWSER_PACKAGES := chromium-headless-shell
browser-packages:
	@command -v chromium-headless-shell >/dev/null || command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	  else \
	    echo "note: no Chromium and not root: the report's browser test will be skipped" >&2; \
	  fi; }

# The cluster test starts a one-node SLURM here (tests/test_slurm.py): Debian's daemons, as root.
SLURM_PACKAGES := slurmctld slurmd slurm-client munge
slurm-packages:
	@command -v slurmctld >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SLURM_PACKAGES) >/dev/null; \
	  else \
	    echo "note: no SLURM daemons and not root: tests/test_slurm.py will be skipped" >&2; \
	  fi; }

lint: venv rust-target
	$(RUN) $(BIN)/snakemake --lint $(CONFIG_FILE_ARGS)
	$(RUN) $(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cargo fmt --check $(CRATE)
	cargo clippy --release --locked --all-targets $(CRATE) -- -D warnings

lock:
	rm -rf /tmp/nerbench-lock && $(PYTHON) -m venv /tmp/nerbench-lock
	/tmp/nerbench-lock/bin/pip install --quiet --upgrade pip
	/tmp/nerbench-lock/bin/pip install --quiet -r requirements.in
	# --all keeps setuptools, which torch requires at run time: a lock without it leaves the venv's
	# old ensurepip copy, and an offline host then cannot resolve torch's setuptools>=77.
	{ head -2 requirements.lock; /tmp/nerbench-lock/bin/pip freeze --all --exclude pip; } > requirements.lock.new \
	  && mv requirements.lock.new requirements.lock

# On a machine that reaches the package index: every wheel of the lock, for hosts that do not
# (`make bench WHEELS=dir` there). With HOST_TORCH=1, without torch: the host brings its own.
# `pip wheel` builds the few source-only packages (seqeval) here, so the offline host builds nothing
# and needs no setuptools.
wheels:
	@test -n "$$WHEELS" || { echo "usage: make wheels WHEELS=dir [HOST_TORCH=1]" >&2; exit 2; }
	if [ "$$HOST_TORCH" = 1 ]; then grep -v -E "^(torch|triton)==" requirements.lock; else cat requirements.lock; fi \
	  | $(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir "$$WHEELS" -r /dev/stdin
	$(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir "$$WHEELS" -r requirements-nodeps.txt

# The smoke grid on every encoder family's random-weight preset (the smoke methods that run the
# family: CTranslate2 converts some only), then a row per family.
FAMILIES := distilbert bert electra roberta xlm-roberta deberta-v2 modernbert
families: venv hyperfine rust-target
	for family in $(FAMILIES); do \
	  methods="$$($(QUERY) methods --model-type "$$family" config.yaml configs/smoke.yaml)" || exit 1; \
	  $(RUN) $(BIN)/snakemake --cores $(CORES) --configfile configs/smoke.yaml $(SNAKEMAKE_ARGS) --config \
	    "results=results/families/$$family" "model={name: $$family-tiny, source: random, random: {preset: $$family-tiny}}" \
	    "benchmark={methods: $$methods}" || exit 1; \
	done
	$(RUN) $(BIN)/python workflow/scripts/report/family_table.py $(foreach family,$(FAMILIES),results/families/$(family)/summary.csv)

# What can be rebuilt and is no rule's input: Snakemake's conda environments, logs and scratch, the
# caches. Never measured results, nor what they were made from (the model, the binary), nor the
# metadata and incomplete-job markers that say how they were made.
clean:
	rm -rf .snakemake/conda .snakemake/log .snakemake/shadow .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Measured results go only when asked by name: the folder the config's `results:` gives (with it, the
# other models' folders under it, results/models/), and only a folder with a grid.json.
clean-results: venv
	@$(WITH_MODEL) $(RESULTS_FOLDER) && if [ ! -f "$$results/grid.json" ]; then \
	  printf '%s: not a results folder (no grid.json): not removed\n' "$$results" >&2; exit 1; fi; \
	  configs="$$(printf '%s ' $(CONFIGS))" && printf 'removing %s (results: of %s)\n' "$$results" "$${configs% }" \
	  && rm -rf -- "$$results"

# This clone's environment, for the original programs' command lines as the README writes them:
# `make shell` starts a shell in it; `eval "$$(make -s activate)"` turns the current one into it.
shell: venv hyperfine
	@echo "nerbench environment: $(VENV) (exit to leave)"
	@$(RUN) VIRTUAL_ENV="$(VENV)" PS1="(nerbench) \w \\$$ " bash --norc -i

activate:
	@$(MAKE) --no-print-directory venv >&2
	@echo 'source "$(VENV)/bin/activate" && export PATH="$(TOOLS)/bin:$$PATH" TOKENIZERS_PARALLELISM=false'

compare: venv
	@test -n "$$A" -a -n "$$B" || { echo "usage: make compare A=results/before B=results/after" >&2; exit 2; }
	$(RUN) $(BIN)/python workflow/scripts/report/compare.py "$$A" "$$B" $${DRIFT:+--drift-pct "$$DRIFT"}
