"""The scenario suite runs through the harness's pytest plugin (the ``posx`` fixture).

Installed projects get the plugin from the pytest11 entry point; this line makes a plain
checkout (no ``pip install -e``) work too.
"""
import importlib.metadata

if not any(ep.value == "harness.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11")):
    pytest_plugins = ["harness.pytest_plugin"]
