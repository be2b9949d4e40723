"""The POSX harness's scenarios, run against this project (conftest.py overrides the target).

Select as with ``posx-harness run``: ``pytest tests/test_posx_scenarios.py --posx-tag recovery``
or ``-k checkout``.
"""
from harness.integrations.django.scenarios import *  # noqa: F401,F403
