# promtool and prometheus (Debian's `prometheus` package) for the alert-rule tests and the
# scrape integration test. Only the binaries are needed: where systemd runs, the package
# also starts a prometheus service on :9090, which this target stops and disables again.
TEST_TOOLS += promtool

.PHONY: promtool
promtool: ## install promtool and prometheus (apt) for the monitoring tests
	@if command -v promtool >/dev/null && command -v prometheus >/dev/null; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "error: the monitoring tests need promtool and prometheus; install the" \
			"'prometheus' package (Debian/Ubuntu) or the release from prometheus.io/download" >&2; \
		exit 1; \
	fi; \
	sudo=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	$$sudo apt-get update -q; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus; \
	if [ -d /run/systemd/system ]; then $$sudo systemctl disable --now prometheus || true; fi
