"""The harness engine: what the pytest plugin's fixtures and ``posx-harness`` are built on.

``options`` (settings and their env twins), ``target`` (what a POSX target must offer),
``stripe_side`` (driving the simulator), ``scenario`` (the helper a scenario talks to),
``waiting`` and ``report`` (polling and failure reports), ``yaml_scenarios`` (declarative
scenarios), ``pytest_hooks`` (options, tags, YAML collection, what could not be checked),
``results`` (collects outcomes into a ``verdict``: the one object the exit code, summary,
JUnit and JSON are rendered from), ``preflight`` (the harness's setup checked against an
HTTP target: usage errors named by flag), ``doctor`` (troubleshooting checks) and
``contract_check`` (``doctor --contract``).
"""
