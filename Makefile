# cifar-tui: `make run` (the quick study in the app) and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# tensorflow-cpu unless an NVIDIA GPU is present (then tensorflow with its CUDA libraries).
TF_EXTRA ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo gpu || echo cpu)
STAMP  := $(VENV)/.installed-$(TF_EXTRA)

.PHONY: install run test test-cluster bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[$(TF_EXTRA),dev]"
	rm -f $(VENV)/.installed-*
	touch $@

# The quick study, live in the app. Offline, it falls back to the digits data set and/or random init,
# and says so on every screen and in the run record.
run: $(STAMP)
	$(BIN)/cifar-tui --preset quick --offline-fallback

# Two workers: the heavy tests spend most of their time tracing Keras graphs in one Python thread, so two
# share 2 cores well (measured 7m18s vs 12m43s for the whole suite on a 2-core machine).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist worksteal -m "not cluster"
	$(MAKE) test-cluster

# Studies on a real one-node Slurm started by the tests themselves (tests/slurm_cluster.py): needs root and
# Debian's slurmctld, slurmd, slurm-client and munge packages (.ci/run installs them); skipped, with the
# reason, otherwise. One process: one cluster.
test-cluster: $(STAMP)
	$(BIN)/python -m pytest -q -m cluster tests/test_cluster.py

bench: $(STAMP)
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/ruff check engine tui tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
