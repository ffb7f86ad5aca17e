"""Ctrl-C during `runs export` (and `studies export`): exit 130, one line, and no half-written report, also
when the KeyboardInterrupt is swallowed inside a library ("Exception ignored ... KeyboardInterrupt")
(issue #26 section 7)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from events_factory import record_runs

from cifar_tui.engine.store.atomic import report_folder

ROOT = Path(__file__).resolve().parent.parent

# Ctrl-C arrives while the first figure is drawn: raised there, or raised in a finalizer and swallowed
CHILD = """
import os, signal, sys
import cifar_tui.engine.report.export as export

drawn = export.curves_figure

class Finalizer:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)

def curves_figure(*args):
    if sys.argv[1] == "swallowed":
        Finalizer()  # gone at once: its KeyboardInterrupt is printed as ignored, and the export goes on
    else:
        os.kill(os.getpid(), signal.SIGINT)
    return drawn(*args)

export.curves_figure = curves_figure
import cifar_tui.engine.report.export_analysis, cifar_tui.engine.report.export_gallery
cifar_tui.engine.report.export_analysis.export_analysis = lambda *args: []
cifar_tui.engine.report.export_gallery.export_galleries = lambda *args: ([], [])
from cifar_tui.cli.main import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize("how", ["raised", "swallowed"])
def test_ctrl_c_during_an_export_exits_130_in_one_line_and_leaves_no_report(tmp_path, how):
    record_runs(tmp_path / "runs", ["20270115-080000-alpha-0001"])
    out = tmp_path / "exports" / "alpha"
    done = subprocess.run([sys.executable, "-c", CHILD, how, "runs", "export", "alpha", "--out", str(out),
                           "--runs-dir", str(tmp_path / "runs")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 130, done
    assert done.stderr == "cifar-tui: interrupted\n", done.stderr
    assert "report written" not in done.stdout
    assert list((tmp_path / "exports").iterdir()) == []  # neither the report nor its temporary folder


def test_a_report_folder_is_whole_or_absent(tmp_path):
    target = tmp_path / "report"
    with pytest.raises(KeyboardInterrupt), report_folder(target) as folder:
        (folder / "a.png").write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    interrupted = threading.Event()
    with pytest.raises(KeyboardInterrupt), report_folder(target, interrupted) as folder:
        (folder / "a.png").write_text("whole")
        interrupted.set()  # a Ctrl-C a library swallowed on the way
    assert list(tmp_path.iterdir()) == []
    with report_folder(target) as folder:
        (folder / "a.png").write_text("first")
    target.joinpath("notes.txt").write_text("the user's")
    with report_folder(target) as folder:  # into a folder that exists: its other files stay
        (folder / "a.png").write_text("second")
    assert {p.name: p.read_text() for p in target.iterdir()} == {"a.png": "second", "notes.txt": "the user's"}
    assert [p.name for p in tmp_path.iterdir()] == ["report"]
