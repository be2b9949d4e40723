"""Every Python scenario of the suite, for a project's own test module to re-export::

    from harness.integrations.django.scenarios import *  # noqa: F401,F403

pytest then collects them in the project's test tree, where its ``conftest.py``
(``posx_target`` overridden, see ``testing.py``) applies. Tags and parameters come along
with the functions, so ``--posx-tag``/``-k`` select them as in ``posx-harness run``.
The YAML scenarios are not among them: they run through ``posx-harness run`` (gate.sh).
"""
from __future__ import annotations

import importlib
import pkgutil

import pytest

import scenarios as _suite

pytestmark = pytest.mark.scenario

__all__ = []
for _info in sorted(pkgutil.iter_modules(_suite.__path__), key=lambda m: m.name):
    if not _info.name.startswith("test_"):
        continue
    _module = importlib.import_module("%s.%s" % (_suite.__name__, _info.name))
    for _name, _obj in vars(_module).items():
        if _name.startswith("test_") and callable(_obj):
            if _name in globals():  # the same name in two modules: keep both, the second qualified
                _name = "%s__%s" % (_info.name, _name)
            globals()[_name] = _obj
            __all__.append(_name)
