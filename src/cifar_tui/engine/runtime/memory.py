"""Free what a finished strategy's model leaves behind, so a long process (a study of many cells in one
process, an app session of many runs) does not grow with every model it trains.

Measured with `bench/study_memory.py` (20 tiny cells, scratch + frozen EfficientNetB0, one process): the
resident size grew by ~130 MB a cell. `keras.backend.clear_session()` and `gc.collect()` left no Keras model
alive but freed little: the traced training graphs stayed, held by TensorFlow's global gradient registry.
Every graph-mode trace of a `tf.custom_gradient` op (EfficientNet's swish activation is one) registers a
gradient function under a fresh name, `CustomGradient-<uid>`, that is never removed, and each such function
holds its whole traced graph (~6,000 operations per EfficientNet training step).
"""

from __future__ import annotations

import gc

CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def release_models() -> None:
    """Called when a strategy is done (finished, failed or stopped): its graphs are never traced or
    differentiated again. Safe while no other model is being traced in this process (one run at a time)."""
    import keras

    keras.backend.clear_session()
    if keras.backend.backend() == "tensorflow":
        forget_custom_gradients()
    gc.collect()
    from cifar_tui.engine.runtime.allocator import give_back_freed_memory

    give_back_freed_memory()  # the freed pages back to the system (the allocator keeps them otherwise)


def forget_custom_gradients() -> int:
    """Drop the gradient functions TensorFlow registered for traced custom-gradient ops; returns how many."""
    try:
        from tensorflow.python.framework import ops

        registry = ops._gradient_registry._registry  # private: no public way to unregister (TF 2.21)
    except (ImportError, AttributeError):
        return 0
    stale = [name for name in registry if name.startswith(CUSTOM_GRADIENT_PREFIX)]
    for name in stale:
        del registry[name]
    return len(stale)
