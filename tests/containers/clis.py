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
    if program == "locust":
        from locust.argument_parser import get_parser

        import loadtests.locustfile  # noqa: F401  (adds its options when the parser is built, as `locust -f` does)
        return get_parser()
    return None


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
    parser = parser_for(program, args)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(list(args))
    except SystemExit as exc:
        if exc.code:
            return err.getvalue().strip() or "exit %s" % exc.code
    return None
