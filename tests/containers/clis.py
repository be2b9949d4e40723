"""Check that a command line written in a file (compose, a CI recipe) is one our CLIs accept.

Each command is parsed by the real argparse parser of the program it names, so renaming or
dropping an option breaks the test of every file that still uses it.
"""
from __future__ import annotations

import contextlib
import io
import re
import shlex

from simulator.commands import build_parser

# ${{ expr || 'default' }} in a GitHub workflow -> the default; other expressions -> a word.
_GH_EXPR = re.compile(r"\$\{\{(.*?)\}\}")
# ${NAME:-default} in compose -> the default.
_SH_DEFAULT = re.compile(r"\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}")


def substitute(text: str) -> str:
    def gh(m):
        inner = m.group(1)
        default = re.search(r"\|\|\s*'([^']*)'", inner)
        return default.group(1) if default else "EXPR"
    return _SH_DEFAULT.sub(lambda m: m.group(1), _GH_EXPR.sub(gh, text))


def parser_for(program: str, args=()):
    """The program's real parser; for a sub-command CLI, built with just the sub-command
    used (an unknown one is still refused), so one broken module fails only its own users."""
    if program in ("posx-harness", "stripe-sim"):
        if program == "posx-harness":
            from harness.cli import COMMANDS
        else:
            from simulator.cli import COMMANDS
        wanted = {args[0]: COMMANDS[args[0]]} if args and args[0] in COMMANDS else COMMANDS
        return build_parser(program, "", wanted)
    return None


# Importing locust monkey-patches the process with gevent (and breaks ssl for everything
# else in a pytest worker), so locust command lines are parsed in a child process.
_LOCUST_CHECK = """
import contextlib, io, json, sys
from locust.argument_parser import get_parser
import loadtests.locustfile  # adds its options when the parser is built, as `locust -f` does
out = []
for args in json.load(sys.stdin):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            get_parser().parse_args(args)
        out.append(None)
    except SystemExit as exc:
        out.append((err.getvalue().strip() or "exit %s" % exc.code) if exc.code else None)
print(json.dumps(out))
"""


def locust_parse_errors(arg_lists):
    import json
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", _LOCUST_CHECK], input=json.dumps([list(a) for a in arg_lists]),
                            capture_output=True, text=True, cwd=root, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def commands_in(script: str, programs=("posx-harness", "stripe-sim", "locust")):
    """(program, args) for every invocation of ``programs`` in a shell snippet."""
    found = []
    for line in substitute(script).replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            try:
                words = shlex.split(part)
            except ValueError:
                continue
            while words and (words[0] in ("exec", "time") or re.match(r"^[A-Z_]+=", words[0])):
                words = words[1:]
            if words and words[0] in programs:
                found.append((words[0], words[1:]))
    return found


def parse_error(program: str, args) -> str | None:
    """None if ``program`` accepts ``args``, else argparse's complaint."""
    if program == "locust":
        return locust_parse_errors([args])[0]
    parser = parser_for(program, args)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(list(args))
    except SystemExit as exc:
        if exc.code:
            return err.getvalue().strip() or "exit %s" % exc.code
    return None
