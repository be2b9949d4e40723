"""Declarative scenarios: a QA engineer writes a YAML file, the harness runs it as a test.

A file holds one scenario (a mapping with ``steps``) or several (``scenarios: [...]``)::

    name: success survives a duplicate burst
    tags: [payment, duplicates]
    steps:
      - create_order: {quantity: 2}
      - pay: {card: "4242", faults: ["duplicate_concurrent:5"]}
      - expect: {status: paid, paid_at: set, allocations: 1, commissions: 1}

Every step is one call on the scenario helper (``harness.engine.scenario.Posx``). The file
is checked when it is collected; a mistake is reported with the file and line number.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


class ScenarioFileError(Exception):
    def __init__(self, path: str, line: Optional[int], message: str):
        where = "%s:%s" % (path, line) if line else str(path)
        super().__init__("%s: %s" % (where, message))
        self.path = path
        self.line = line
        self.message = message


class _Map(dict):
    line: int = 0


class _Seq(list):
    line: int = 0


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings and lists remember their 1-based line."""


def _map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise ScenarioFileError(loader.name, key_node.start_mark.line + 1, "duplicate key %r" % (key,))
        out[key] = loader.construct_object(value_node, deep=True)
    out.line = node.start_mark.line + 1
    return out


def _seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _seq)


# -- the steps ------------------------------------------------------------------------------
# name -> (allowed keys, a short description). ``order`` names an order made by an earlier
# ``create_order`` with ``as``; without it a step acts on the latest order.
STATUSES = ("pending", "paid", "failed", "canceled", "refunded", "payment_mismatch")
STEPS: dict[str, tuple[frozenset, str]] = {
    "create_order": (frozenset({"quantity", "tier", "as"}), "create an order on the target"),
    "pay": (frozenset({"card", "faults", "order", "deliver"}),
            "pay the order's intent with a test card; its events are delivered with the faults"),
    "cancel": (frozenset({"order", "faults", "deliver"}), "cancel the order's intent"),
    "refund": (frozenset({"order", "faults", "amount", "deliver"}), "refund the order's payment"),
    "checkout": (frozenset({"card", "order", "faults", "deliver"}), "pay the order through a Checkout Session"),
    "deliver": (frozenset({"types", "faults", "order", "order_of_types"}),
                "deliver the order's recorded events again (optionally some types, in an order, with faults)"),
    "fail_next_webhooks": (frozenset({"count"}), "make the target answer 500 to its next N webhook calls"),
    "crash_next_webhooks": (frozenset({"count"}), "make the target crash mid-processing on its next N webhook calls"),
    "retry_failed": (frozenset({"order"}), "let Stripe's retry schedule run for this order's failed deliveries"),
    "expect": (frozenset({"order", "status", "paid_at", "allocations", "commissions", "disputes", "timeout"}),
               "wait until the order shows this state"),
    "expect_deliveries": (frozenset({"order", "type", "status", "outcome", "count", "fault", "attempt"}),
                          "check the delivery log of the order's payment"),
}
SCALAR_STEPS = {"fail_next_webhooks": "count", "crash_next_webhooks": "count"}


@dataclass
class Step:
    name: str
    args: dict
    line: int


@dataclass
class Scenario:
    name: str
    tags: tuple
    steps: list
    path: str
    line: int
    description: str = ""
    extra: dict = field(default_factory=dict)


def load_file(path) -> list[Scenario]:
    path = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ScenarioFileError(path, None, "cannot read: %s" % (exc.strerror or exc))
    loader = _Loader(text)
    loader.name = path
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ScenarioFileError(path, mark.line + 1 if mark else None,
                                "not valid YAML: %s" % (exc.problem or exc.context))
    finally:
        loader.dispose()
    if not isinstance(doc, dict):
        raise ScenarioFileError(path, 1, "a scenario file must be a mapping with 'steps' (or 'scenarios')")
    if "scenarios" in doc:
        items = doc["scenarios"]
        if not isinstance(items, list) or not items:
            raise ScenarioFileError(path, getattr(items, "line", doc.line), "'scenarios' must be a non-empty list")
        extra = set(doc) - {"scenarios", "tags"}
        if extra:
            raise ScenarioFileError(path, doc.line, "unknown top-level key(s) %s" % ", ".join(sorted(extra)))
        common = _tags(path, doc)
        return [_scenario(path, item, common, default_name=None) for item in items]
    return [_scenario(path, doc, (), default_name=Path(path).stem)]


def _tags(path: str, doc: dict) -> tuple:
    tags = doc.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise ScenarioFileError(path, getattr(tags, "line", doc.line), "tags must be a list of words")
    return tuple(tags)


def _scenario(path: str, doc: Any, common: tuple, default_name: Optional[str]) -> Scenario:
    line = getattr(doc, "line", None)
    if not isinstance(doc, dict):
        raise ScenarioFileError(path, line, "a scenario must be a mapping with name and steps")
    unknown = set(doc) - {"name", "tags", "steps", "description"}
    if unknown:
        raise ScenarioFileError(path, line, "unknown key(s) %s (a scenario has name, description, tags, steps)"
                                % ", ".join(sorted(unknown)))
    name = doc.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ScenarioFileError(path, line, "every scenario needs a name")
    steps = doc.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ScenarioFileError(path, getattr(steps, "line", line), "'steps' must be a non-empty list")
    parsed = [_step(path, raw, line) for raw in steps]
    if parsed[0].name != "create_order":
        raise ScenarioFileError(path, parsed[0].line, "the first step must be create_order (each scenario "
                                "makes its own orders, so scenarios can run in parallel)")
    known_orders = set()
    for st in parsed:
        if st.name == "create_order" and "as" in st.args:
            known_orders.add(st.args["as"])
        ref = st.args.get("order")
        if ref is not None and ref not in known_orders:
            raise ScenarioFileError(path, st.line, "step %s refers to order %r before a create_order with as: %s"
                                    % (st.name, ref, ref))
    return Scenario(name=name.strip(), tags=tuple(dict.fromkeys(common + _tags(path, doc))), steps=parsed,
                    path=path, line=line or 1, description=str(doc.get("description") or ""))


def _step(path: str, raw: Any, parent_line: Optional[int]) -> Step:
    line = getattr(raw, "line", parent_line)
    if isinstance(raw, str):
        raw = {raw: None}
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ScenarioFileError(path, line, "a step is one 'name: arguments' pair, e.g. '- pay: {card: \"4242\"}'")
    (name, args), = raw.items()
    if name not in STEPS:
        raise ScenarioFileError(path, line, "unknown step %r (known: %s)" % (name, ", ".join(STEPS)))
    allowed, _ = STEPS[name]
    if args is None:
        args = {}
    elif not isinstance(args, dict):
        if name in SCALAR_STEPS:
            args = {SCALAR_STEPS[name]: args}
        else:
            raise ScenarioFileError(path, line, "step %s takes a mapping of %s" % (name, ", ".join(sorted(allowed))))
    bad = set(args) - allowed
    if bad:
        raise ScenarioFileError(path, line, "step %s has unknown argument(s) %s (allowed: %s)"
                                % (name, ", ".join(sorted(bad)), ", ".join(sorted(allowed))))
    _check_values(path, line, name, args)
    return Step(name, dict(args), line)


def _check_values(path: str, line: int, name: str, args: dict) -> None:
    def fail(msg: str):
        raise ScenarioFileError(path, line, "step %s: %s" % (name, msg))

    if "card" in args:
        from harness.engine.stripe_side import card_token
        try:
            card_token(args["card"])
        except ValueError as exc:
            fail(str(exc))
    if "faults" in args:
        from simulator.delivery.faults import FaultError, parse_faults
        try:
            parse_faults(args["faults"])
        except FaultError as exc:
            fail(str(exc))
    if "status" in args and name == "expect":
        st = args["status"]
        choices = st if isinstance(st, list) else [st]
        if not all(s in STATUSES for s in choices):
            fail("status must be one of %s, got %r" % (", ".join(STATUSES), st))
    for key in ("allocations", "commissions", "disputes", "count", "quantity"):
        if key in args and (not isinstance(args[key], int) or isinstance(args[key], bool) or args[key] < 0):
            fail("%s must be a whole number >= 0, got %r" % (key, args[key]))
    if "paid_at" in args and args["paid_at"] not in ("set", "empty", True, False, None):
        fail("paid_at must be 'set' or 'empty', got %r" % (args["paid_at"],))
    for key in ("types", "order_of_types"):
        if key in args and not (isinstance(args[key], list) and all(isinstance(t, str) for t in args[key])):
            fail("%s must be a list of event types" % key)


def run(scenario: Scenario, posx) -> None:
    """Play the steps against a ``Posx`` helper; an error names the step and its line."""
    orders: dict = {}
    latest = None
    for index, st in enumerate(scenario.steps, 1):
        args = dict(st.args)
        ref = args.pop("order", None)
        order = orders[ref] if ref is not None else latest
        try:
            if st.name == "create_order":
                alias = args.pop("as", None)
                latest = posx.create_order(quantity=args.get("quantity", 1), tier=args.get("tier"))
                if alias:
                    orders[alias] = latest
                continue
            action: Callable = getattr(posx, st.name)
            if st.name in ("fail_next_webhooks", "crash_next_webhooks"):
                action(args.get("count", 1))
            elif st.name == "expect":
                if "paid_at" in args:
                    args["paid_at"] = args["paid_at"] in ("set", True)
                if isinstance(args.get("status"), list):
                    args["status"] = tuple(args["status"])
                action(order, **args)
            else:
                action(order, **args)
        except AssertionError as exc:
            from harness.engine.report import ScenarioFailure

            raise ScenarioFailure("%s:%d: step %d (%s) failed\n%s" % (scenario.path, st.line, index, st.name, exc)) from None

