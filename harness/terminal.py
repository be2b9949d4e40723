"""Terminal output shared by ``posx-harness run`` and ``posx-harness load``.

Colour only where a person reads it: the stream is a terminal and ``NO_COLOR`` is unset
(https://no-color.org); ``FORCE_COLOR`` wins for CI systems that render ANSI. Progress
rewrites one line on a terminal and prints a sparse line per tenth elsewhere, so a CI log
stays short. ``--json`` output goes through :func:`write_json` so machines get one
document and no decoration.
"""
from __future__ import annotations

import json
import os
import re
import sys
from typing import IO, Any, Iterable, Optional, Sequence

_CODES = {
    "bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36",
}
# Words a summary prints, and how they look on a terminal.
OUTCOME_STYLE = {
    "passed": "green", "ok": "green", "delivered": "green", "succeeded": "green",
    "failed": "red", "error": "red", "broken": "red",
    "skipped": "yellow", "not checked": "yellow", "not_checked": "yellow",
    "xfailed": "yellow", "pending": "yellow", "retrying": "yellow",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def use_colour(stream: Optional[IO[str]] = None, environ: Optional[dict] = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def paint(text: str, style: str, enabled: bool) -> str:
    """``text`` wrapped in the ANSI codes of ``style`` ("red", "bold green", ...) if enabled."""
    if not enabled or not style:
        return text
    try:
        codes = ";".join(_CODES[word] for word in style.split())
    except KeyError as exc:
        raise ValueError(f"unknown style {exc.args[0]!r}; known: {', '.join(sorted(_CODES))}") from None
    return f"\x1b[{codes}m{text}\x1b[0m"


def outcome(word: str, enabled: bool) -> str:
    return paint(word, OUTCOME_STYLE.get(word.lower(), ""), enabled)


def visible_len(text: str) -> int:
    return len(_ANSI.sub("", text))


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], align: Optional[str] = None) -> str:
    """Rows as an aligned plain-text table. ``align`` has one letter per column, ``l`` or
    ``r`` (numbers read better right-aligned); cells may already carry colour."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    ncol = len(headers)
    for i, row in enumerate(cells[1:], 1):
        if len(row) != ncol:
            raise ValueError(f"row {i} has {len(row)} cells, the table has {ncol} columns")
    align = align or "l" * ncol
    if len(align) != ncol or set(align) - {"l", "r"}:
        raise ValueError(f"align must be {ncol} letters of 'l' or 'r', got {align!r}")
    widths = [max(visible_len(row[i]) for row in cells) for i in range(ncol)]

    def line(row: Sequence[str]) -> str:
        out = []
        for text, width, how in zip(row, widths, align):
            pad = " " * (width - visible_len(text))
            out.append(pad + text if how == "r" else text + pad)
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


class Progress:
    """``[ 12/40] label  passed 11  failed 1`` while work goes on.

    On a terminal the line is rewritten in place; elsewhere a line is printed each time
    another tenth of the work is done, so logs show progress without thousands of lines.
    """

    def __init__(self, total: int, label: str = "", stream: Optional[IO[str]] = None,
                 colour: Optional[bool] = None):
        if total < 0:
            raise ValueError(f"total must be >= 0, got {total}")
        self.total = total
        self.label = label
        self.stream = sys.stdout if stream is None else stream
        self.colour = use_colour(self.stream) if colour is None else colour
        self.live = self.colour or bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.counts: dict = {}
        self._last_tenth = 0
        self._drawn = 0

    def advance(self, result: Optional[str] = None, n: int = 1) -> None:
        self.done += n
        if result:
            self.counts[result] = self.counts.get(result, 0) + n
        if self.live:
            self._draw()
        else:
            tenth = (self.done * 10 // self.total) if self.total else 10
            if tenth > self._last_tenth or self.done == self.total:
                self._last_tenth = tenth
                self.stream.write(self.render() + "\n")
                self.stream.flush()

    def render(self) -> str:
        width = len(str(self.total))
        parts = [f"[{self.done:>{width}}/{self.total}]"]
        if self.label:
            parts.append(self.label)
        for name, count in self.counts.items():
            parts.append(f"{outcome(name, self.colour)} {count}")
        return "  ".join(parts)

    def _draw(self) -> None:
        text = self.render()
        pad = " " * max(0, self._drawn - visible_len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._drawn = visible_len(text)

    def finish(self) -> None:
        """End the live line so what follows starts on a fresh one."""
        if self.live and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = 0


def write_json(document: Any, stream: Optional[IO[str]] = None) -> None:
    """One JSON document for ``--json``: sorted keys, no colour, a trailing newline."""
    stream = sys.stdout if stream is None else stream
    stream.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    stream.flush()
