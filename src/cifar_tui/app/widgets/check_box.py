"""A checkbox whose state shows without colour: `X` when checked, blank when not.

Textual's Checkbox draws the same `X` in both states and tells them apart by colour alone, so with NO_COLOR
(or a monochrome terminal) every box looked checked.
"""

from __future__ import annotations

from textual.widgets import Checkbox


class StateCheckbox(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # noqa: N802 (the name Textual's ToggleButton reads)
        return "X" if self.value else " "
