"""An unexpected error in one line a user can act on: the line that says what happened, and for running out
of memory, the fix with the values to try (issue #26 section 3).

Backends bury the meaning: TensorFlow's graph errors start "Graph execution error:", then the stack of the
node where it was detected, and only then the message ("OOM when allocating tensor with shape[512,1024,
1024,3] and type float on ... by allocator mklcpu"), so a first line alone says nothing. JAX says
"RESOURCE_EXHAUSTED: Out of memory while trying to allocate N bytes." (XlaRuntimeError), PyTorch raises
OutOfMemoryError, numpy and Python MemoryError. No backend is imported here: errors are known by name.
"""

from __future__ import annotations

import re

from cifar_tui.engine.config.choices import MIN_EFFICIENTNET_SIZE
from cifar_tui.engine.config.config import ExperimentConfig

# Lines of a backend's message that are frame, not content
NOISE = ("Graph execution error", "Detected at node", "File ", "[[{{node", "[[", "Hint:", "[Op:", "Traceback",
         "The above exception", "During handling", "Detected unsupported operations")
OOM_NAMES = {"ResourceExhaustedError", "OutOfMemoryError", "MemoryError"}
OOM_WORDS = ("RESOURCE_EXHAUSTED", "out of memory", "Out of memory", "OOM when allocating")
MAX_LINE = 400


def meaningful_line(exc: BaseException) -> str:
    """The first line of the error's message that is not frame ("Graph execution error:", a stack line, a
    node name), with TensorFlow's device path and allocator name shortened."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(NOISE)]
    text = (useful or lines or [""])[0]
    text = re.sub(r"/job:\w+/replica:\d+/task:\d+/device:", "", text)
    return re.sub(r" by allocator \S+$", "", text)


def is_out_of_memory(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & OOM_NAMES) or (bool(names & {"XlaRuntimeError", "JaxRuntimeError"})
                                       and any(word in str(exc) for word in OOM_WORDS))


def memory_fix(config: ExperimentConfig, strategy: str) -> str:
    """What to lower, with the values: half the batch and (where it can shrink) half the image size."""
    airbench = strategy == "scratch" and config.scratch_model == "airbench"
    batch_flag, batch = ("--airbench-batch-size", config.airbench_batch_size) if airbench else \
        ("--batch-size", config.batch_size)
    size_flag, size = ("--scratch-image-size", config.scratch_image_size) if strategy == "scratch" else \
        ("--image-size", config.transfer_image_size)
    smallest = 8 if strategy == "scratch" else MIN_EFFICIENTNET_SIZE
    options = [f"{batch_flag} {batch // 2} (was {batch})"] if batch > 1 else []
    if not airbench and size > smallest:  # airbench is built for 32 px alone
        options.append(f"{size_flag} {max(smallest, size // 2)} (was {size})")
    return "try a smaller " + " or ".join(options) if options else "free memory on the device, or use a larger one"


def describe_failure(exc: BaseException, config: ExperimentConfig | None = None, strategy: str = "") -> str:
    """One line for `strategy_failed`, the summary, stderr and the app: out of memory says so, with the fix
    first (it stays visible where a line is cut) and the backend's own words after it; any other error
    keeps its type and its meaningful line."""
    line = meaningful_line(exc)
    if is_out_of_memory(exc):
        fix = memory_fix(config, strategy) if config is not None and strategy else "use a smaller batch or image size"
        where = f"{type(exc).__name__}: {line}" if line else type(exc).__name__
        return f"out of memory: {fix}; {where}"[:MAX_LINE]
    return (f"{type(exc).__name__}: {line}" if line else type(exc).__name__)[:MAX_LINE]
