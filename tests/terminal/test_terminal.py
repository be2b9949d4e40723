import io

import pytest

from harness import terminal


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_colour_only_on_a_terminal_without_no_color():
    assert terminal.use_colour(FakeTTY(), environ={}) is True
    assert terminal.use_colour(io.StringIO(), environ={}) is False
    assert terminal.use_colour(FakeTTY(), environ={"NO_COLOR": "1"}) is False
    assert terminal.use_colour(io.StringIO(), environ={"FORCE_COLOR": "1"}) is True
    # NO_COLOR set but empty does not count, as no-color.org says.
    assert terminal.use_colour(FakeTTY(), environ={"NO_COLOR": ""}) is True


def test_paint_and_unknown_style():
    assert terminal.paint("ok", "green", enabled=False) == "ok"
    assert terminal.paint("ok", "bold green", enabled=True) == "\x1b[1;32mok\x1b[0m"
    with pytest.raises(ValueError, match="unknown style 'purple'"):
        terminal.paint("x", "purple", enabled=True)


def test_table_aligns_on_visible_width():
    rows = [["success", terminal.outcome("passed", True), 3], ["duplicates_burst", terminal.outcome("failed", True), 12]]
    text = terminal.table(rows, ["scenario", "result", "ms"], align="llr")
    lines = [terminal._ANSI.sub("", line) for line in text.splitlines()]
    assert lines[0] == "scenario          result  ms"
    assert lines[1] == "----------------  ------  --"
    assert lines[2] == "success           passed   3"
    assert lines[3] == "duplicates_burst  failed  12"


def test_table_rejects_ragged_rows_and_bad_align():
    with pytest.raises(ValueError, match="row 1 has 1 cells, the table has 2 columns"):
        terminal.table([["a"]], ["x", "y"])
    with pytest.raises(ValueError, match="align must be 2 letters"):
        terminal.table([["a", "b"]], ["x", "y"], align="c")


def test_progress_off_terminal_prints_a_line_per_tenth():
    out = io.StringIO()
    p = terminal.Progress(40, "scenarios", stream=out)
    for i in range(40):
        p.advance("failed" if i == 7 else "passed")
    p.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1] == "[40/40]  scenarios  passed 39  failed 1"
    assert "\x1b[" not in out.getvalue()


def test_progress_on_terminal_rewrites_one_line():
    out = FakeTTY()
    p = terminal.Progress(3, "load", stream=out, colour=False)
    p.advance("ok")
    p.advance("ok")
    p.advance("error")
    p.finish()
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert text.rsplit("\r", 1)[1].strip() == "[3/3]  load  ok 2  error 1"


def test_write_json_is_one_document():
    out = io.StringIO()
    terminal.write_json({"b": 1, "a": [1, 2]}, out)
    import json
    assert json.loads(out.getvalue()) == {"a": [1, 2], "b": 1}
