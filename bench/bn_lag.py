"""How far a finished scratch run's BatchNorm moving statistics are from those of its final weights, and what
validation accuracy each gives (issue #24 section 7; docs/science.md, "Short runs").

    python -m bench.bn_lag RUNS_DIR/RUN_ID

The run must have kept checkpoints (the default) and used the scratch CNN. Per BatchNorm layer: the median
over channels of |moving mean - mean| / std and of moving variance / variance, where mean and variance are
those of the layer's input over the training images under the last epoch's weights (earlier layers already
set to theirs, in inference mode); then validation accuracy with the moving statistics and with those.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main(run: Path) -> None:
    import keras

    from cifar_tui.engine.config.config import ExperimentConfig
    from cifar_tui.engine.data.splits import prepare_data
    from cifar_tui.engine.models.scratch import scratch_cnn
    from cifar_tui.engine.training.checkpoints import read_arrays

    config = ExperimentConfig.from_dict(json.loads((run / "config.json").read_text())["config"])
    data = prepare_data(config)
    model = scratch_cnn(config.scratch_image_size, len(data.class_names), config.dropout, "none", config.seed)
    model.set_weights(read_arrays(sorted((run / "checkpoints" / "scratch").glob("epoch-*.weights.npz"))[-1]))

    def accuracy() -> float:
        return float((np.argmax(model.predict(data.x_val, verbose=0, batch_size=256), 1) == data.y_val).mean())

    print(f"validation accuracy with the moving statistics: {accuracy():.3f}")
    for layer in (la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)):
        inputs = keras.Model(model.inputs, layer.input).predict(data.x_train, verbose=0, batch_size=256)
        inputs = inputs.reshape(-1, inputs.shape[-1])
        mean, var = inputs.mean(0), inputs.var(0)
        moving_mean, moving_var = np.array(layer.moving_mean), np.array(layer.moving_variance)
        print(f"{layer.name:24s} |moving mean - mean| / std {np.median(np.abs(moving_mean - mean) / np.sqrt(var)):.3f}"
              f"   moving variance / variance {np.median(moving_var / var):.2f} "
              f"({np.min(moving_var / var):.2f}-{np.max(moving_var / var):.2f})")
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(var)
    print(f"validation accuracy with the statistics of the final weights: {accuracy():.3f}")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not (Path(sys.argv[1]) / "config.json").is_file():
        sys.exit("usage: python -m bench.bn_lag RUNS_DIR/RUN_ID (a run folder with checkpoints)")
    main(Path(sys.argv[1]))
