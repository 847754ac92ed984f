# Guardrails: graphviz for `python -m infra_tools diagram`, checkov in its own virtualenv (it pins a
# `packaging` that conflicts with pulumi's), both needed by the test suite.
CHECKOV_VENV := .cache/checkov
CHECKOV_REQUIREMENTS := infra_tools/guardrails/checkov-requirements.txt
TEST_TOOLS += graphviz $(CHECKOV_VENV)/.installed

.PHONY: graphviz
graphviz: ## install graphviz (`dot`) via apt when it is missing
	@if command -v dot >/dev/null 2>&1; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "error: graphviz's 'dot' is missing and apt-get is unavailable; install the graphviz package with your system's package manager" >&2; \
		exit 1; \
	fi; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq graphviz

$(CHECKOV_VENV)/.installed: $(UV) $(CHECKOV_REQUIREMENTS)
	$(UV) venv --quiet --allow-existing --python 3.11 $(CHECKOV_VENV)
	$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python --no-deps -r $(CHECKOV_REQUIREMENTS)
	touch $@

.PHONY: checkov
checkov: $(CHECKOV_VENV)/.installed ## install checkov (pinned) into its own virtualenv

.PHONY: check
check: venv ## run the guardrail rules over STACK (exit 1 on a mandatory violation)
	$(PY) -m infra_tools check --stack $(STACK)

.PHONY: cost
cost: venv ## estimate STACK's monthly cost, idle and busy
	$(PY) -m infra_tools cost --stack $(STACK)

.PHONY: diagram
diagram: venv graphviz ## draw docs/architecture-dev.svg from the dev stack
	$(PY) -m infra_tools diagram --stack dev --out docs/architecture-dev.svg
