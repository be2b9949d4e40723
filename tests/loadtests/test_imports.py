"""The load test stands alone: ``loadtests`` imports nothing from ``harness`` (the harness
runs it; the benchmark that serves the harness's receiver lives in tests/bench)."""
from __future__ import annotations

import ast
import pathlib

LOADTESTS = pathlib.Path(__file__).resolve().parents[2] / "loadtests"


def test_loadtests_imports_nothing_from_harness():
    found = []
    for path in sorted(LOADTESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            found += ["%s:%d %s" % (path.name, node.lineno, n) for n in names if n.split(".")[0] == "harness"]
    assert len(list(LOADTESTS.rglob("*.py"))) > 10  # the walk saw the package
    assert found == []
