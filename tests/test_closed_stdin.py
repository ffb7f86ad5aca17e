"""Every command with its standard input closed (`<&-`), a file or a pipe: the normal behaviour or one line,
never a traceback; a prompt takes a missing answer as "no" (issue #26 section 2).

One child process started with descriptor 0 closed runs every command in turn (closing descriptor 0 and
dropping `sys.stdin` again before each, as Python leaves them for a closed stdin): a process per command
cost ~1 s of CPU each on this 2-core machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from events_factory import record_runs

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import contextlib, io, json, os, sys, traceback
from cifar_tui.cli.main import main

results = []
for argv, stdin in json.loads(sys.argv[1]):
    with contextlib.suppress(OSError):
        os.close(0)
    sys.stdin = None
    if stdin == "file":  # a regular file holding no answer
        os.open(os.devnull, os.O_RDONLY)
        sys.stdin = open(0, closefd=False)
    elif stdin == "pipe":  # a pipe whose writer has gone: end of input at once
        read, write = os.pipe()
        if read != 0:
            os.dup2(read, 0)
            os.close(read)
        os.close(write)
        sys.stdin = open(0, closefd=False)
    out, err = io.StringIO(), io.StringIO()
    code, trace = None, ""
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
        except BaseException:
            trace = traceback.format_exc()
    results.append({"argv": argv, "stdin": stdin, "code": code, "out": out.getvalue(), "err": err.getvalue(),
                    "trace": trace})
sys.__stdout__.write(json.dumps(results))
"""


def commands(runs: str, export: str) -> list[list[str]]:
    """Every command and sub-command, with arguments that reach its work without training a model."""
    r = ["--runs-dir", runs]
    return [[*r], ["watch", *r], ["run", "--epochs", "0", *r], ["resume", "latest", *r],
            ["study", "data-efficiency", "--set", "epochs=-1", "--dry-run", *r], ["study", "no-such-study", *r],
            ["runs", "list", *r], ["runs", "show", "latest", *r], ["runs", "compare", "alpha", "beta", *r],
            ["runs", "export", "latest", "--format", "pdf", *r], ["runs", "note", "alpha", "--note", "n", *r],
            ["cache", "list", *r], ["cache", "clear", *r], ["studies", "list", *r], ["studies", "show", "x", *r],
            ["studies", "cancel", "x", *r], ["studies", "export", "x", "--out", export, *r], ["--help"]]


def test_every_command_with_stdin_closed_a_file_or_a_pipe_says_one_line_or_works(tmp_path):
    runs = tmp_path / "runs"
    record_runs(runs, ["20270115-080000-alpha-0001", "20270116-080000-beta-0002"])
    (runs / ".cache" / "features" / "0123456789abcdef0123").mkdir(parents=True)  # something to clear
    cases = [(argv, "closed") for argv in commands(str(runs), str(tmp_path / "out"))]
    cases += [(argv, stdin) for argv in ([], ["cache", "clear"]) for stdin in ("file", "pipe")]
    cases = [([*argv, "--runs-dir", str(runs)] if argv[:1] in ([], ["cache"]) and stdin != "closed" else argv, stdin)
             for argv, stdin in cases]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    done = subprocess.run(["sh", "-c", 'exec "$@" <&-', "sh", sys.executable, "-c", CHILD, json.dumps(cases)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) == len(cases)
    for result in results:
        said = f"{result['argv']} with stdin {result['stdin']}: {result}"
        assert not result["trace"] and "Traceback" not in result["err"], said
        if result["code"] not in (0, None):
            assert len(result["err"].strip().splitlines()) == 1 and result["err"].startswith("cifar-tui"), said
    by_case = {(tuple(r["argv"][:2]), r["stdin"]): r for r in results}
    for stdin in ("closed", "file", "pipe"):
        app = by_case[(("--runs-dir", str(runs)), stdin)]
        assert app["code"] == 2 and "not a terminal" in app["err"], app
        clear = by_case[(("cache", "clear"), stdin)]
        assert clear["code"] in (0, None) and "nothing removed" in clear["out"], clear
    assert (runs / ".cache" / "features" / "0123456789abcdef0123").is_dir()  # no answer is a no
    assert "not a terminal" in by_case[(("watch", "--runs-dir"), "closed")]["err"]
