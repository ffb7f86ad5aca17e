"""Colours that mean the same thing on every panel, chosen to survive 256-colour terminals and tmux."""

from __future__ import annotations

# One stable colour per strategy: plotext names (curves) and Rich styles (tables, labels).
STRATEGY_PLOT_COLORS = {"scratch": "cyan", "frozen": "orange", "finetune": "magenta", "probe": "green"}
STRATEGY_STYLES = {"scratch": "bold cyan", "frozen": "bold #ff8700", "finetune": "bold magenta", "probe": "bold green"}
STATUS_STYLES = {"running": "bold green", "finished": "green", "cancelled": "yellow", "failed": "bold red",
                 "interrupted": "yellow", "damaged": "red", "pending": "dim", "not started": "dim"}

# Heatmap ramp for confusion matrices: xterm-256 palette indices from dark to bright.
HEAT_RAMP = [17, 18, 19, 20, 25, 31, 37, 43, 78, 114, 150, 186, 222, 220, 214]


def heat_style(share: float) -> str:
    """A Rich style for a cell holding `share` (0..1) of its row; readable text on the background."""
    share = min(max(share, 0.0), 1.0)
    index = HEAT_RAMP[min(int(share * len(HEAT_RAMP)), len(HEAT_RAMP) - 1)]
    foreground = "black" if share >= 0.55 else "white"
    return f"{foreground} on color({index})"

# Series beyond one per strategy (a study's "finetune unfreeze=all" and "finetune unfreeze=top3") take
# spare colours; every series also has its own marker, so series stay apart with NO_COLOR.
EXTRA_PLOT_COLORS = ("green", "yellow", "red", "blue", "white", "gray")
SERIES_MARKERS = ("*", "x", "+", "o", "#", "@", "%", "&")
STRATEGY_MARKERS = {"scratch": "*", "frozen": "x", "finetune": "+", "probe": "o"}
