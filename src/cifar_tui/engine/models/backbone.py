"""EfficientNetB0 backbone and where its weights come from.

`--weights imagenet` takes `efficientnetb0_notop.h5` from Keras' cache (`$KERAS_HOME/models/`) when its
checksum is the release's, or downloads it there when nothing is there (never over a user's file);
`--weights PATH` loads a local notop weights file; `--weights none` keeps the random initialisation.
All pretrained files go through one loader, so the path the tests exercise with saved files is the path
real runs take.

One subtlety: Keras' EfficientNet, when built with `weights="imagenet"`, inserts an extra
`Rescaling(1/sqrt(stddev))` after its `Normalization` layer, because the published weights file stores
ImageNet's standard deviation where a variance belongs (tensorflow#49930). A model built with
`weights=None` and then loaded from that file lacks the fix. We fold the same correction into the
Normalization variance when, and only when, the loaded variance is the uncorrected stddev.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cifar_tui.engine.data.sources import keras_home
from cifar_tui.engine.errors import WeightsError
from cifar_tui.engine.models.weights_file import check_efficientnetb0_notop
from cifar_tui.engine.runtime.download import download, matches

WEIGHTS_FILE = "efficientnetb0_notop.h5"
WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/" + WEIGHTS_FILE
WEIGHTS_MD5 = "50bc09e76180e00e4465e1a485ddc09d"
IMAGENET_STDDEV_RGB = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass
class WeightsChoice:
    requested: str  # what the user asked for: "imagenet", "none" or a path
    path: str | None  # the file to load, or None for random init
    label: str  # in words, for every screen and report
    pretrained: bool
    notice: str = ""  # set when something else than requested is used (fallback)

    def describe(self) -> dict:
        return {"requested": self.requested, "path": self.path, "label": self.label,
                "pretrained": self.pretrained, "notice": self.notice}


def resolve_weights(requested: str, allow_fallback: bool = False,
                    report: Callable[[str], None] = lambda _text: None) -> WeightsChoice:
    """Decide which weights file a transfer strategy loads; fail clearly if it cannot be had.

    No TensorFlow: a local file's structure is checked with h5py (`weights_file`), Keras' cached release
    file by its checksum, so a wrong file is refused before a run starts. `report` receives download
    progress lines.
    """
    spec = requested.strip()
    if spec.lower() == "none":
        return WeightsChoice(spec, None, "random init (NO pretrained weights)", pretrained=False)
    if spec.lower() == "imagenet":
        try:
            path = _imagenet_file(report)
        except WeightsError as exc:
            if not allow_fallback:
                raise
            message = str(exc)
        except Exception as exc:  # DownloadFailed: offline, HTTP error, checksum, disk
            cached = imagenet_cache_path()
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            message = (f"ImageNet weights for EfficientNetB0 are not in {cached} and the download failed "
                       f"({reason}); fix: copy {WEIGHTS_FILE} there, pass --weights PATH, "
                       "or --weights none to train from random init")
            if not allow_fallback:
                raise WeightsError(message) from None
        else:
            return WeightsChoice(spec, path, f"ImageNet ({path})", pretrained=True)
        return WeightsChoice(spec, None, "random init (NO pretrained weights)", pretrained=False,
                             notice=f"RANDOM INIT USED INSTEAD OF IMAGENET WEIGHTS: {message}")
    path = Path(spec).expanduser()
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist (or pass --weights imagenet / none)")
    if not path.name.endswith((".h5", ".hdf5")):
        raise WeightsError(f"weights file {path} must be an .h5 or .weights.h5 file")
    check_efficientnetb0_notop(path)
    return WeightsChoice(spec, str(path), f"local file {path}", pretrained=True)


def imagenet_cache_path() -> Path:
    return keras_home() / "models" / WEIGHTS_FILE


def _imagenet_file(report: Callable[[str], None]) -> str:
    """Keras' cached copy if it is the release file, or a verified download into the cache (same name and
    folder as Keras). A cached file that does not match is refused, never replaced or removed."""
    cached = imagenet_cache_path()
    if cached.exists():
        if not matches(cached, WEIGHTS_MD5, "md5"):
            raise WeightsError(
                f"{cached} does not match Keras' release checksum of {WEIGHTS_FILE} (md5 {WEIGHTS_MD5}); it was "
                "left as it is. fix: delete it to download it again, or pass --weights PATH (your own "
                "EfficientNetB0 notop file) or --weights none")
        return str(cached)
    return str(download(WEIGHTS_URL, cached, WEIGHTS_MD5, "md5", report))


def build_backbone(image_size: int, weights: WeightsChoice):
    """EfficientNetB0 without its top, for `image_size` px input in [0, 255], weights loaded."""
    import keras

    backbone = keras.applications.EfficientNetB0(
        include_top=False, weights=None, input_shape=(image_size, image_size, 3)
    )
    if weights.path is not None:
        load_backbone_weights(backbone, weights.path)
    return backbone


def _array_census(path: str) -> tuple[int, int]:
    """(number of arrays, number of values) stored in an HDF5 weights file."""
    import h5py

    counts = [0, 0]

    def visit(_name, obj):
        if isinstance(obj, h5py.Dataset):
            counts[0] += 1
            counts[1] += int(obj.size)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return counts[0], counts[1]


def load_backbone_weights(backbone, path: str) -> None:
    # Keras skips (with a warning) groups it cannot match, which would leave part of the backbone at
    # random init without failing. A census of the file catches files made for another architecture.
    try:
        arrays, values = _array_census(path)
    except Exception as exc:
        raise WeightsError(f"weights file {path} could not be loaded into EfficientNetB0 (notop): not a readable "
                           f"HDF5 file ({type(exc).__name__}); is it corrupt or for another architecture?") from None
    expected = int(sum(np.prod(w.shape) for w in backbone.weights))
    if not (expected <= values <= expected + 64 and len(backbone.weights) <= arrays <= len(backbone.weights) + 8):
        raise WeightsError(
            f"weights file {path} could not be loaded into EfficientNetB0 (notop): it holds {values:,} values in "
            f"{arrays} arrays where the backbone has {expected:,} in {len(backbone.weights)}; "
            "is it corrupt or for another architecture?")
    try:
        backbone.load_weights(path)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise WeightsError(
            f"weights file {path} could not be loaded into EfficientNetB0 (notop): {first}; "
            "is it corrupt or for another architecture?"
        ) from None
    _apply_stddev_fix(backbone)


def _apply_stddev_fix(backbone) -> None:
    norm = next((layer for layer in backbone.layers if layer.__class__.__name__ == "Normalization"), None)
    if norm is None or not hasattr(norm, "adapt_variance"):
        return
    variance = np.asarray(norm.adapt_variance).reshape(-1)
    if variance.shape == (3,) and np.allclose(variance, IMAGENET_STDDEV_RGB, atol=1e-4):
        norm.adapt_variance.assign((variance * IMAGENET_STDDEV_RGB).reshape(norm.adapt_variance.shape))
        norm.finalize_state()


def block_index(layer_name: str) -> int:
    """0 for the stem, 1..7 for EfficientNet's blocks ('block3b_...'), 8 for the top layers."""
    if layer_name.startswith("block") and layer_name[5:6].isdigit():
        return int(layer_name[5])
    return 8 if layer_name.startswith("top") else 0
