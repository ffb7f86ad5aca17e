# cifar-tui: `make run` (the quick study in the app) and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# tensorflow-cpu unless an NVIDIA GPU is present (then tensorflow with its CUDA libraries).
TF_EXTRA ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo gpu || echo cpu)
STAMP  := $(VENV)/.installed-$(TF_EXTRA)

.PHONY: install run test test-cluster bench gpu-wheels lint clean

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

# Keras and the small wheels it needs that the lent GPU machine lacks (it has JAX, numpy, h5py, ml-dtypes,
# rich, no Keras), for its CPython 3.12 on x86_64: carried there with the tree; bench/gpu_check.sh installs
# them into a private folder. Issue #14 part 4.
gpu-wheels: $(STAMP)
	$(BIN)/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux_2_28_x86_64 -d bench/gpu-wheels keras==3.15.1 optree==0.20.0 namex==0.1.0 absl-py==2.5.1

lint: $(STAMP)
	$(BIN)/ruff check engine tui tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
