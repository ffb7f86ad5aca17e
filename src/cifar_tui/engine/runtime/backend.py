"""The Keras backend a run computes on: TensorFlow (the default), JAX or PyTorch.

Keras reads `KERAS_BACKEND` once, when it is first imported in a process, and keeps that backend for the
process's life. So the engine sets the variable from the run's config before anything imports keras
(`activate`, first thing in `run_experiment`), and a process whose Keras already runs on another backend
(the app after a TensorFlow run, say) refuses the run in one line instead of silently computing on the
wrong one. Study cells run in child processes (`engine/study/parallel.py`) or one process per cell
(Slurm); each child activates its own cell's backend from its config.

What each backend cannot do is refused by `ExperimentConfig.validate` before any work (see
`unsupported`): tf.distribute (`gpus`) and TensorBoard scalars need TensorFlow.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from cifar_tui.engine.errors import ConfigError

BACKENDS = ("tensorflow", "jax", "torch")
BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}  # as written in prose
DEFAULT_BACKEND = "tensorflow"  # the seed's backend, and what runs recorded before issue #14 ran on
# The package each backend imports, and how a user gets it.
PACKAGES = {
    "tensorflow": ("tensorflow", "pip install -e .[cpu]  (or .[gpu])"),
    "jax": ("jax", "pip install 'jax[cpu]'  (or 'jax[cuda12]' on a GPU)"),
    "torch": ("torch", "pip install torch"),
}


def requested_backend(flag: str | None, environ: dict[str, str] | None = None) -> str:
    """`--backend` if given, else `KERAS_BACKEND` (Keras' own variable), else TensorFlow."""
    environ = os.environ if environ is None else environ
    return (flag or environ.get("KERAS_BACKEND") or DEFAULT_BACKEND).strip().lower()


def chosen_backend(flag: str | None) -> str:
    """`requested_backend` for the CLI: a `KERAS_BACKEND` that cannot be used (no flag given) is refused in a
    line naming the variable, so the user knows where the name came from. Raises ConfigError."""
    name = requested_backend(flag)
    if flag is None:
        try:
            check_backend(name)
        except ConfigError as exc:
            raise ConfigError(f"KERAS_BACKEND={name} in the environment: {exc}") from None
    return name


def check_backend(name: str) -> None:
    """ConfigError (one line) unless `name` is a backend whose package is installed. Cheap: no import."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}: choose from {', '.join(BACKENDS)}")
    package, install = PACKAGES[name]
    if importlib.util.find_spec(package) is None:
        raise ConfigError(f"the {name} backend needs the {package} package, which is not installed here: "
                          f"{install}")


def unsupported(backend: str, gpus: str, tensorboard: bool) -> str | None:
    """Why a config cannot run on `backend` (one sentence), or None."""
    if backend == "tensorflow":
        return None
    if gpus:
        return (f"--gpus {gpus} uses tf.distribute (MirroredStrategy), which needs --backend tensorflow; "
                f"on {backend} leave --gpus out (one device)")
    if tensorboard:
        return f"--tensorboard writes its scalars with TensorFlow: it needs --backend tensorflow, not {backend}"
    return None


def loaded_backend() -> str | None:
    """The backend of the Keras already imported in this process, or None when keras is not imported yet."""
    if "keras" not in sys.modules:
        return None
    from keras import backend

    return backend.backend()


def process_backend() -> str:
    """The backend a new run in this process can use: the loaded Keras' (it cannot switch), else the requested
    one (`KERAS_BACKEND`, else TensorFlow). The app's New run form starts from it."""
    return loaded_backend() or requested_backend(None)


def activate(name: str) -> None:
    """Make `name` this process's Keras backend; call before the first `import keras`.

    Raises ConfigError when the backend is unknown or not installed, or when Keras already runs on another
    backend in this process (it cannot switch)."""
    check_backend(name)
    if loaded_backend() is None:
        os.environ["KERAS_BACKEND"] = name
        return
    refusal = switch_refusal(name)
    if refusal:
        raise ConfigError(refusal)


def switch_refusal(name: str) -> str | None:
    """Why a run on backend `name` cannot start in this process (Keras already runs on another), else None.
    The app asks before it shows a resumed run on the Live screen."""
    current = loaded_backend()
    if current is None or current == name:
        return None
    return (f"Keras already runs on {current} in this process and cannot switch to {name}: "
            f"start a new cifar-tui for --backend {name}")


def set_random_seed(seed: int) -> None:
    """Seed Python, NumPy, Keras' global seed generator and the backend, as `keras.utils.set_random_seed`
    does, without importing TensorFlow on the other backends: Keras' own seeds `tf.random` whenever
    TensorFlow is installed ("for tf.data pipelines"), which would load all of it into a JAX run."""
    import random

    import keras
    import numpy as np

    if keras.backend.backend() == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    # The two global attributes keras.utils.set_random_seed resets (Keras 3.15 rng_utils): the seed new
    # SeedGenerators start from, and the generator itself, rebuilt from that seed on its next use.
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)
