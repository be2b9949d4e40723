"""YAML scenario files as pytest items: each scenario becomes a test function that takes
the ``posx`` fixture, with its tags as markers. A broken file fails at collection with its
line number."""
from __future__ import annotations

import pytest

from harness.engine import yaml_scenarios


class YamlScenarioFile(pytest.File):
    def collect(self):
        try:
            scenarios = yaml_scenarios.load_file(self.path)
        except yaml_scenarios.ScenarioFileError as exc:
            raise self.CollectError(str(exc)) from None
        for sc in scenarios:
            fn = _make_test(sc)
            item = pytest.Function.from_parent(self, name=sc.name, callobj=fn)
            item.add_marker(pytest.mark.scenario)
            if sc.tags:
                item.add_marker(pytest.mark.tags(*sc.tags))
            yield item

    class CollectError(Exception):
        pass

    def repr_failure(self, excinfo):
        if excinfo.errisinstance(self.CollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _make_test(scenario):
    def run_yaml_scenario(posx):
        yaml_scenarios.run(scenario, posx)

    run_yaml_scenario.__doc__ = scenario.description or scenario.name
    return run_yaml_scenario
