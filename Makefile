# cifar-tui: `make run` (the quick study in the app) and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# tensorflow-cpu unless an NVIDIA GPU is present (then tensorflow with its CUDA libraries).
TF_EXTRA ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo gpu || echo cpu)
TF_CHOSEN := $(if $(filter gpu,$(TF_EXTRA)),tensorflow,tensorflow-cpu)
TF_OTHER  := $(if $(filter gpu,$(TF_EXTRA)),tensorflow-cpu,tensorflow)
STAMP  := $(VENV)/.installed-$(TF_EXTRA)

.PHONY: install run test test-cluster bench gpu-wheels gpu-rehearse lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# One TensorFlow (issue #27): tensorflow-cpu and tensorflow install the same files, so a switch of the
	@# extra removes the other first, and the chosen one too if both are there (their shared files are gone).
	if $(BIN)/python -m pip show -q $(TF_OTHER) >/dev/null 2>&1; then \
		$(BIN)/python -m pip uninstall -q -y $(TF_OTHER) $(TF_CHOSEN); fi
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

# Keras and every wheel `import keras` needs beyond what the lent GPU machine is sure to have (JAX, numpy,
# h5py, ml-dtypes, rich), at constraints.txt's pins, for its CPython 3.12 on x86_64: carried there with the
# tree (docs/gpu.md); bench/gpu_check.sh installs them into a private folder. Issues #14 part 4, #27.
GPU_PYTHON_VERSION := 3.12
GPU_WHEELS := keras optree namex absl-py packaging typing_extensions
gpu-wheels:
	@pins="$$(for p in $(GPU_WHEELS); do grep -i "^$$p==" constraints.txt || echo "MISSING:$$p"; done)"; \
	case "$$pins" in *MISSING:*) echo "gpu-wheels: no pin in constraints.txt for: $$pins" | grep -o 'MISSING:[^ ]*' >&2; exit 1;; esac; \
	rm -rf bench/gpu-wheels && \
	$(PYTHON) -m pip download -q --no-deps --only-binary=:all: --python-version $(GPU_PYTHON_VERSION) \
		--implementation cp --platform manylinux_2_28_x86_64 -d bench/gpu-wheels $$pins && \
	echo $(GPU_PYTHON_VERSION) > bench/gpu-wheels/python-version

# The GPU machine's call rehearsed on this CPU (CI runs it): a Python 3.12 environment like that machine's
# (JAX CPU build, no TensorFlow, no Keras), the tree copied as the device tool copies it, the wheels
# carried, bench/gpu_launch.sh run with --smoke; fails unless every phase completes.
gpu-rehearse: gpu-wheels
	bash bench/gpu_rehearse.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
