"""Shared plumbing for the project's two command lines (``stripe-sim``, ``posx-harness``).

Each sub-command lives in its own module with ``add_arguments(parser)`` and ``run(args)``
returning an exit code; heavy imports happen inside ``run`` so ``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
from typing import Mapping, Optional, Sequence, Tuple


def build_parser(prog: str, description: str, commands: Mapping[str, Tuple[str, str]]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in commands.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def dispatch(prog: str, description: str, commands: Mapping[str, Tuple[str, str]],
             argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser(prog, description, commands).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130
