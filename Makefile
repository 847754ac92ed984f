# mlops-platform — `make up` deploys the local stack onto the embedded AWS; `make test` checks everything.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

STACK ?= local
OUT ?= build/synth/$(STACK)
UV_VERSION := 0.13.9
TOOLS := .cache/tools
UV := $(TOOLS)/bin/uv
# A folder holding only uv, for PATH: Pulumi.yaml's `toolchain: uv` runs `uv` from PATH, and
# $(TOOLS)/bin would also put that venv's python and pip ahead of the system's.
UV_PATH := .cache/uv-path
VENV := .venv
PY := $(VENV)/bin/python
LOCALSTACK_VENV := .cache/localstack/venv
# Extra tools the test suite needs; mk/*.mk files append their install targets here.
TEST_TOOLS :=

-include mk/*.mk

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set, every run would
# otherwise recompile the thousands of pulumi-aws modules (synth: ~6 s instead of ~2 s).
$(UV_PATH)/uv: $(UV)
	mkdir -p $(UV_PATH)
	ln -sf $(abspath $(UV)) $@

$(VENV)/.synced: $(UV) $(UV_PATH)/uv pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --python 3.11 --compile-bytecode
	touch $@

.PHONY: venv
venv: $(VENV)/.synced ## create .venv with every locked dependency

$(LOCALSTACK_VENV)/.installed: $(UV) devtools/localstack-constraints.txt
	$(UV) venv --quiet --allow-existing --python 3.11 $(LOCALSTACK_VENV)
	$(UV) pip install --quiet --compile-bytecode --python $(LOCALSTACK_VENV)/bin/python \
		-c devtools/localstack-constraints.txt 'localstack-core[runtime]==4.10.0'
	touch $@

.PHONY: localstack-venv
localstack-venv: $(LOCALSTACK_VENV)/.installed ## install LocalStack (host mode) in its own venv

.PHONY: localstack
localstack: venv localstack-venv ## start the embedded AWS on 127.0.0.1:4566 in the background
	$(PY) -m devtools.localstack start

.PHONY: localstack-stop
localstack-stop: venv ## stop the embedded AWS started by `make localstack`
	$(PY) -m devtools.localstack stop

.PHONY: synth
synth: venv ## synthesize STACK offline into OUT (default build/synth/STACK)
	$(PY) -m infra_tools synth --stack $(STACK) --out $(OUT)

.PHONY: preview
preview: venv ## summarize what STACK declares, offline
	$(PY) -m infra_tools preview --stack $(STACK)

.PHONY: pulumi-cli
pulumi-cli: venv ## install the pinned Pulumi CLI into .cache/tools unless `pulumi` is on PATH
	$(PY) -m devtools.pulumi_cli install

# The local stack ensures the CLI first, so LocalStack starts only once a deploy can run;
# up.py refuses other stacks before anything is downloaded or started.
UP_CLI := $(if $(filter local,$(STACK)),pulumi-cli)
.PHONY: up
up: venv localstack-venv $(UP_CLI) ## deploy STACK (default: local, on the embedded AWS) and verify it
	@if [ "$(STACK)" = local ]; then $(PY) -m devtools.localstack start; fi
	$(PY) -m devtools.up --stack $(STACK)

.PHONY: lint
lint: venv ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: typecheck
typecheck: venv ## pyright (strict on infra/ and infra_tools/)
	$(VENV)/bin/pyright

.PHONY: pytest
pytest: venv localstack-venv $(TEST_TOOLS) ## the test suite (LocalStack started by the tests)
	status=0; $(PY) -m pytest || status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

.PHONY: quick
quick: lint venv ## the quick loop (about a minute): lint, types, and the tests that start no process and need no LocalStack or promtool
	@# pyright runs beside the tests: together they take about as long as the tests alone.
	$(VENV)/bin/pyright --outputjson > .cache/quick-pyright.json & pyright=$$!; \
	status=0; $(PY) -m pytest -q -n 2 -m "not localstack and not promtool and not slow" || status=$$?; \
	wait $$pyright || { $(VENV)/bin/pyright; status=1; }; \
	exit $$status

.PHONY: test
test: lint typecheck pytest ## everything CI runs, from a fresh clone

.PHONY: clean
clean: ## remove build output (keeps the venvs and LocalStack cache)
	rm -rf build

.PHONY: bench
bench: venv ## serving benchmark: the model server and a reference server, three runs; figures in README
	$(PY) -m bench.loadgen

.PHONY: bench-synth
bench-synth: venv ## time `python -m infra_tools synth` per stack (cold processes); figures in docs/app.md
	$(PY) -m bench.synth

.PHONY: docs
docs: venv ## regenerate docs/config-reference.md from the config models
	$(PY) -m devtools.readme
