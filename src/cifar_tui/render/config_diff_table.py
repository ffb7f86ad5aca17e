"""The config diff of several runs as a Rich table: one row per differing key, one column per run.
Shared by the Compare screen and `cifar-tui runs compare`."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from cifar_tui.engine.config.config_diff import Setting

RICH_NAMES = {"orange": "dark_orange"}  # plotext's colour names (the curves') that Rich spells differently


def run_label(run_id: str) -> str:
    """"20270115-080000-alpha-0001" -> "alpha-0001": the part that tells runs apart."""
    return run_id.split("-", 2)[-1] if run_id.count("-") >= 2 else run_id


def config_diff_title(diff: dict[str, list]) -> str:
    """The diff's title, with the count of keys: the Compare screen shows a few and scrolls the rest."""
    if not diff:
        return "config: identical in every key"
    keys = f"{len(diff)} keys that differ" if len(diff) > 1 else "key that differs"
    return f"config: only the {keys}"


def config_diff_note(diff: dict[str, list[Setting]]) -> str:
    """The line under a diff that says how to read it: what "(asked ...)" and "(not used)" mean, when shown."""
    settings = [s for values in diff.values() for s in values]
    parts = []
    if any(s.differs and s.used for s in settings):
        parts.append("values: what trained; (asked X): what the run asked for")
    if any(not s.used for s in settings):
        parts.append("(not used): none of that run's strategies reads the key")
    return "; ".join(parts)


def config_diff_table(run_ids: list[str], diff: dict[str, list[Setting]],
                      colors: list[str] | None = None) -> Table | Text:
    """`runs compare`'s diff (the Compare screen builds a DataTable from the same title and cells)."""
    title = config_diff_title(diff)
    if not diff:
        return Text(title, style="dim")
    # min_width: Rich wraps a title to its table's width, and a two-run diff is narrower than this one
    note = config_diff_note(diff)
    # show_edge: its blank top row cost a key on a short screen
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  min_width=max(len(title), len(note)), show_edge=False)
    table.add_column("key", no_wrap=True, style="bold")
    for index, run_id in enumerate(run_ids):
        color = colors[index % len(colors)] if colors else "bold"
        table.add_column(run_label(run_id), no_wrap=True, overflow="ellipsis",
                         header_style=RICH_NAMES.get(color, color))
    for key, values in diff.items():
        table.add_row(key, *[Text(v.text()) for v in values])
    if note:
        table.caption, table.caption_justify, table.caption_style = note, "left", "dim"
    return table
