"""`cifar-tui study SPEC --set KEY=VALUE` (issue #25 section 4): a knob of the base changes every cell; a key
that is an axis picks that axis' values (`--set seed=[0]`, `--set image_size=32`: the grid narrows to
them, or takes new ones: `--set seed=[0,1,2,3,4]`). A knob that an axis or a variant sets in every cell it
touches would be silently overwritten there: it is refused in one line, naming the axis to narrow instead.
"""

from __future__ import annotations

from typing import Any

from cifar_tui.engine.errors import ConfigError

ALIASES = {"image_size": "transfer_image_size", "unfreeze": "unfreeze_blocks"}


def canonical(key: str) -> str:
    return ALIASES.get(key, key)


def split_overrides(study: str, axes: dict[str, list], variants: dict[str, dict],
                    overrides: dict[str, Any], fields_of) -> tuple[dict[str, Any], dict[str, list]]:
    """(the base overrides, the axes with the picked values). `fields_of(key, value)` is the spec's knob
    expansion (aliases, `epochs`, `train_size`) into config fields. Raises ConfigError."""
    base: dict[str, Any] = {}
    axes = dict(axes)
    by_name = {canonical(axis): axis for axis in axes}
    for key, value in overrides.items():  # the axes first: a knob is checked against the values picked,
        axis = by_name.get(canonical(key))  # whatever the order of the --set options
        if axis is not None:
            axes[axis] = picked(study, axis, axes[axis], value)
    for key, value in overrides.items():
        if by_name.get(canonical(key)) is not None:
            continue
        if key != "preset":
            _refuse_shadowed(study, key, value, axes, variants, fields_of)
        base[key] = value
    return base, axes


def picked(study: str, axis: str, values: list, wanted: Any) -> list:
    """The axis' values the user named, in the spec's spelling where they match one ("1e-5" is 1e-05)."""
    chosen = wanted if isinstance(wanted, list) else [wanted]
    if not chosen:
        raise ConfigError(f"--set {axis}=[]: pick at least one value of {axis} (study {study}: {_listed(values)})")
    return [next((v for v in values if same(v, w)), w) for w in chosen]


def same(value: Any, wanted: Any) -> bool:
    """Equal, or equal as text, as a number or as TOML's boolean ("1e-5" and 1e-05, "224" and 224, "true" and
    true: a spec's `reference = "true"` named Python's spelling only)."""
    if isinstance(value, bool) or isinstance(wanted, bool):
        return str(value).lower() == str(wanted).strip().lower()
    if value == wanted or str(value) == str(wanted):
        return True
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if numeric and isinstance(wanted, str):
        try:
            return float(wanted) == value
        except ValueError:
            return False
    return False


def _refuse_shadowed(study: str, key: str, value: Any, axes: dict[str, list], variants: dict[str, dict],
                     fields_of) -> None:
    fields = set(fields_of(key, value))
    for axis, values in axes.items():
        if axis == "variant":
            setting = [v for v in values if fields & set(variants.get(v, {}))]
            if setting:
                raise ConfigError(f"--set {key}: study {study}'s variant(s) {', '.join(setting)} set it, so it "
                                  f"would change only the others; pick variants with --set variant=[...] or "
                                  f"copy the spec and edit it")
        elif fields & set(fields_of(axis, values[0])):
            raise ConfigError(f"--set {key}: {axis} is an axis of study {study} ({_listed(values)}) and sets it "
                              f"in every cell; pick its values with --set {axis}=[...]")


def _listed(values: list) -> str:
    return ", ".join(map(str, values))
