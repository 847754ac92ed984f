# The tracking server (MLflow) for `make up` and the tests, in its own virtualenv synced to the
# tracking image's requirements (exact pins with hashes; sync also removes what they do not
# list), so local runs what the cluster runs; and the headless browser (Debian's chromium and
# chromedriver) the tracking UI test drives.
TRACKING_VENV := .cache/mlflow/venv
TRACKING_REQUIREMENTS := images/tracking/requirements.txt
TEST_TOOLS += $(TRACKING_VENV)/.installed browser

$(TRACKING_VENV)/.installed: $(UV) $(TRACKING_REQUIREMENTS)
	$(UV) venv --quiet --allow-existing --python 3.11 $(TRACKING_VENV)
	$(UV) pip sync --quiet --compile-bytecode --require-hashes \
		--python $(TRACKING_VENV)/bin/python $(TRACKING_REQUIREMENTS)
	touch $@

.PHONY: tracking-venv
tracking-venv: $(TRACKING_VENV)/.installed ## install the MLflow tracking server in its own venv

# `make up` starts the tracking server after the deploy; this adds its venv to up's prerequisites.
up: $(TRACKING_VENV)/.installed

.PHONY: tracking-status
tracking-status: venv ## is the tracking server started by `make up` running, and where
	$(PY) -m devtools.mlflow_server status

.PHONY: tracking-stop
tracking-stop: venv ## stop the tracking server started by `make up`
	$(PY) -m devtools.mlflow_server stop

.PHONY: browser
browser: ## install chromium and chromedriver (apt) for the tracking UI test
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "error: the tracking UI test needs chromium and chromedriver; install the" \
			"'chromium' and 'chromium-driver' packages (Debian/Ubuntu) with your package manager" >&2; \
		exit 1; \
	fi; \
	sudo=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	$$sudo apt-get update -q; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		chromium chromium-driver

.PHONY: tracking-lock
tracking-lock: $(UV) ## recompile images/tracking/requirements.txt (exact pins, hashes) from requirements.in
	$(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--generate-hashes --no-header images/tracking/requirements.in \
		-o $(TRACKING_REQUIREMENTS)
