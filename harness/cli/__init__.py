"""``posx-harness``: the scenario suite, the reference receiver, load tests and checks."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from simulator.commands import dispatch

# name -> (module, one-line help). Kept as data so adding a command is one line.
COMMANDS = {
    "run": ("harness.cli.run", "run the scenario suite against the bundled receiver or a POSX target"),
    "list": ("harness.cli.list_scenarios", "list the scenarios and their tags"),
    "doctor": ("harness.cli.doctor", "check a deployed webhook endpoint the way the guide troubleshoots it"),
    "receiver": ("harness.cli.receiver", "serve the reference POSX receiver under gunicorn"),
    "load": ("harness.cli.load", "load-test a POSX webhook with Locust"),
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return dispatch("posx-harness", "Gate a POSX deploy on what its Stripe webhook really does.", COMMANDS, argv)
    except SystemExit as exc:
        # argparse's own exits (--help: 0; a bad or missing flag: 2, its line already printed):
        # returned, so main(argv) gives the exit code whatever went wrong.
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
