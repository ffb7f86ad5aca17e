"""What a weights file is, read with h5py alone (no TensorFlow), so a wrong `--weights` file is refused
before anything is imported, trained or written.

Both formats a user may have are read: Keras' legacy `.h5` (the release's `efficientnetb0_notop.h5`: root
attribute `layer_names`, one group per layer) and Keras 3's `.weights.h5` (`layers/<generic name>/vars/N`,
where layer names are not kept). Both store one array per weight, so the number of arrays and of values
identifies the EfficientNet variant; a 2-D array with 1,000 columns is ImageNet's classifier (a with-top
file).
"""

from __future__ import annotations

from pathlib import Path

from cifar_tui.engine.errors import WeightsError

# (arrays, values) of keras.applications.EfficientNetB{0..7}(include_top=False), counted with Keras 3.15.
NOTOP_CENSUS = {
    "B0": (312, 4_049_571), "B1": (440, 6_575_239), "B2": (440, 7_768_569), "B3": (497, 10_783_535),
    "B4": (611, 17_673_823), "B5": (739, 28_513_527), "B6": (853, 40_960_143), "B7": (1038, 64_097_687),
}
# Files saved by other Keras versions may carry a few more bookkeeping arrays (a Normalization count, say).
SLACK_ARRAYS, SLACK_VALUES = 8, 64
FIX = "pass an efficientnetb0_notop.h5 (include_top=False), or --weights imagenet / --weights none"


def census(arrays: int, values: int) -> str | None:
    """The EfficientNet variant whose notop weights have this many arrays and values, or None."""
    for variant, (n, v) in NOTOP_CENSUS.items():
        if n <= arrays <= n + SLACK_ARRAYS and v <= values <= v + SLACK_VALUES:
            return variant
    return None


def check_efficientnetb0_notop(path: Path | str) -> None:
    """Raise WeightsError (one line naming the file and what it looks like) unless `path` holds
    EfficientNetB0 notop weights. Reads only the file's structure (shapes), never its values."""
    path = Path(path)
    problem = describe_problem(path)
    if problem:
        raise WeightsError(f"weights file {path} is not EfficientNetB0 notop weights: {problem}; {FIX}")


def describe_problem(path: Path) -> str:
    """'' when `path` looks like EfficientNetB0 notop weights, else what it looks like, in words."""
    import h5py

    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if head.lstrip().startswith(b"<"):
        return "it is a web page (HTML), not an HDF5 file: a failed download saved under that name?"
    if not head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "it is not an HDF5 file"
    shapes: list[tuple[int, ...]] = []
    try:
        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f  # a whole model saved with model.save()
            layer_names = [name for name in (n.decode() if isinstance(n, bytes) else str(n)
                                             for n in root.attrs.get("layer_names", []))
                           if name in root and len(root[name].attrs.get("weight_names", []))]  # layers with weights
            f.visititems(lambda _name, obj: shapes.append(tuple(obj.shape)) if isinstance(obj, h5py.Dataset)
                         else None)
    except Exception as exc:  # h5py raises OSError for a truncated file, KeyError/RuntimeError for damage
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return f"it is a damaged or truncated HDF5 file ({first})"
    arrays = len(shapes)
    values = sum(_size(s) for s in shapes)
    with_top = "predictions" in layer_names or any(len(s) == 2 and s[-1] == 1000 for s in shapes)
    if layer_names and not any(n.startswith("stem_conv") for n in layer_names):
        shown = ", ".join(layer_names[:3])
        return f"it is not an EfficientNet (its layers are named {shown}, ...)"
    if with_top:
        return "it includes ImageNet's 1000-class classifier (a with-top file)"
    variant = census(arrays, values)
    if variant == "B0":
        return ""
    b0_arrays, b0_values = NOTOP_CENSUS["B0"]
    looks = f"EfficientNet{variant} notop weights" if variant else "another architecture"
    return (f"it holds {values:,} values in {arrays} arrays, as {looks} would "
            f"(EfficientNetB0 notop: {b0_values:,} in {b0_arrays})")


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for d in shape:
        size *= int(d)
    return size
