"""``stripe-sim``: the fake Stripe server's command line."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from simulator.commands import dispatch

# name -> (module, one-line help). Kept as data so adding a command is one line.
COMMANDS = {
    "serve": ("simulator.cli.serve", "run the fake Stripe API, control plane and webhook delivery"),
    "trigger": ("simulator.cli.trigger", "run a flow and deliver its events to a URL, no server needed"),
    "demo": ("simulator.cli.demo", "run test-card payments through the simulator and show the deliveries"),
    # The Stripe CLI's habits, offline (issue 17; docs/STRIPE_CLI.md).
    "listen": ("simulator.cli.listen", "forward a running simulator's events to a local URL, like `stripe listen`"),
    "events": ("simulator.cli.events", "list events or resend one to its endpoints, like `stripe events`"),
    "logs": ("simulator.cli.logs", "tail the API request log, like `stripe logs tail`"),
    "fixtures": ("simulator.cli.fixtures", "run a Stripe CLI fixture file against the simulator"),
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    return dispatch("stripe-sim", "A fake Stripe server for offline webhook testing.", COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(main())
