# The serving benchmark's own environment: MLflow's model server (the side-by-side reference)
# and py-spy (the profile), from exact pins with hashes, apart from the app's lock.
BENCH_VENV := .cache/bench/venv
BENCH_REQUIREMENTS := bench/reference/requirements.txt

$(BENCH_VENV)/.installed: $(UV) $(BENCH_REQUIREMENTS)
	$(UV) venv --quiet --allow-existing --python 3.11 $(BENCH_VENV)
	$(UV) pip sync --quiet --compile-bytecode --require-hashes \
		--python $(BENCH_VENV)/bin/python $(BENCH_REQUIREMENTS)
	touch $@

.PHONY: bench-venv
bench-venv: $(BENCH_VENV)/.installed ## install the benchmark's reference server and profiler

bench: $(BENCH_VENV)/.installed

.PHONY: bench-lock
bench-lock: $(UV) ## recompile bench/reference/requirements.txt (exact pins, hashes)
	$(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--generate-hashes --no-header bench/reference/requirements.in -o $(BENCH_REQUIREMENTS)
