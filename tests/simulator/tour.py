"""A tour of every operation in the definitions, with its required parameters.

Shared by the SDK tests (16.x in process, 12.5.1 in a subprocess) and by
``tools/gen_api_coverage.py``. Creates run first so later operations use real ids of
their kinds; an id the tour does not have is an unknown one (404 ``resource_missing``).
Values are drawn from the parameter type alone (first enum value, ``usd``, a URL for
``*_url``, ...), so the tour is the same for every run.
"""
from __future__ import annotations


from simulator import definitions as D

# The simulator's own test helper and the hand-made life cycles need inputs a blind tour
# cannot invent; their own tests cover them (tests/simulator/test_sdk_*.py).
SPECIAL_VALUES = {"currency": "usd", "country": "US", "email": "tour@example.com", "url": "https://example.com/tour",
                  "payment_method": "pm_card_visa", "type": None, "name": "tour", "description": "tour",
                  "amount": 1000, "unit_amount": 1000, "quantity": 1, "interval": "month", "mode": "payment",
                  "success_url": "https://example.com/ok", "return_url": "https://example.com/back",
                  "query": "metadata['tour']:'1'", "enabled_events": ["*"], "enabled_events[]": "*"}


def value_for(node, key: str, depth: int = 0):
    """A value for a parameter of type ``node`` (None: leave it out)."""
    special = SPECIAL_VALUES.get(key)
    if special is not None and (node in ("s", "i") or (isinstance(node, dict) and "z" in node)):
        return special
    if isinstance(node, dict) and "z" in node:
        node = node.get("k", {k: v for k, v in node.items() if k != "z"})
    if node == "s":
        if key.endswith("_url") or key == "url":
            return "https://example.com/tour"
        if key.endswith("email"):
            return "tour@example.com"
        return "tour"
    if node in ("i",):
        return 1
    if node == "f":
        return 1.5
    if node == "b":
        return True
    if node == "m":
        return {"tour": "1"}
    if node == "*":
        return "tour"
    if "e" in node:
        return node["e"][0]
    if "l" in node:
        item = value_for(node["l"], key, depth + 1)
        return [item] if item is not None else None
    if "d" in node:
        return {"k": "v"}
    if "u" in node:
        return value_for(node["u"][0], key, depth)
    if "r" in node:
        if depth > 3:
            return None
        out = {}
        for k, (n, req) in D.params_type(node["r"]).items():
            if req:
                v = value_for(n, k, depth + 1)
                if v is not None:
                    out[k] = v
        return out
    return None


def required_params(op) -> dict:
    if op.params is None:
        return {}
    out = {}
    for key, (node, req) in D.params_type(op.params).items():
        if req:
            v = value_for(node, key)
            if v is not None:
                out[key] = v
    return out


def encode(params: dict, prefix: str = "") -> list:
    """Stripe's bracket form, as the SDKs send it."""
    pairs = []
    for key, value in params.items():
        name = "%s[%s]" % (prefix, key) if prefix else key
        if isinstance(value, dict):
            pairs.extend(encode(value, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    pairs.extend(encode(item, "%s[%d]" % (name, i)))
                else:
                    pairs.append(("%s[%d]" % (name, i), _scalar(item)))
        else:
            pairs.append((name, _scalar(value)))
    return pairs


def _scalar(v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def plan() -> list:
    """(operation, params) in tour order: creates, then reads/updates/actions, then deletes."""
    def rank(op):
        own_id = op.path.rstrip("/").endswith("}")
        if op.method == "POST" and op.action.startswith("create_") and not own_id:
            return 0
        if op.method == "DELETE":
            return 3
        return 1 if op.method == "GET" else 2
    ops = sorted(D.operations(), key=lambda op: (rank(op), op.path, op.method))
    return [(op, required_params(op)) for op in ops]


def fill_path(op, known: dict) -> str:
    """The path with ids of objects made earlier in the tour (by the object the segment names)."""
    segments = op.path.strip("/").split("/")
    out = []
    for i, seg in enumerate(segments):
        if seg.startswith("{"):
            name = seg[1:-1]
            before = _singular(segments[i - 1]) if i else ""
            if "/".join(segments[:i]) + "/" + before in known:  # nested: by its full collection path
                seg = known["/".join(segments[:i]) + "/" + before]
            else:
                seg = known.get(before) or known.get(name) or known.get(_singular(name)) or "%s_tourmissing" % name[:3]
        out.append(seg)
    return "/" + "/".join(out)


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") else name


def remember(op, answer: dict, known: dict) -> None:
    """Ids the tour can use later: by the path's last word and by the answer's object name."""
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
        return
    if op.method != "POST" or not op.action.startswith("create_"):
        return
    segments = [s for s in op.path.strip("/").split("/")[1:] if not s.startswith("{")]
    if segments:
        known.setdefault(_singular(segments[-1]), answer["id"])
    obj = answer.get("object")
    if isinstance(obj, str):
        known.setdefault(obj.split(".")[-1], answer["id"])
        known.setdefault(obj.replace(".", "_"), answer["id"])


def answers(body) -> list:
    """The objects in an answer to check against the definitions (a list's items)."""
    if not isinstance(body, dict):
        return []
    if body.get("object") in ("list", "search_result"):
        return [o for o in body.get("data") or [] if isinstance(o, dict)]
    return [body] if "object" in body else []


def run(call) -> dict:
    """Call every operation; ``call(method, path, params) -> (status, body)``.

    A report: statuses seen, and failures (a 5xx, a 4xx not in Stripe's error shape, or an
    answer that does not validate against the definitions)."""
    from simulator.objects import schema

    known: dict = {}
    statuses: dict = {}
    failures: list = []
    for op, params in plan():
        path = fill_path(op, known)
        status, body = call(op.method, path, params)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status >= 500:
            failures.append([op.action, status, str(body)[:300]])
        elif status >= 400:
            err = body.get("error") if isinstance(body, dict) else None
            if not (isinstance(err, dict) and err.get("type") and err.get("message")):
                failures.append([op.action, status, "not Stripe's error shape: %s" % str(body)[:200]])
        else:
            remember(op, body, known)
            for obj in answers(body):
                found = schema.problems(obj)
                if found:
                    failures.append([op.action, status, found[:3]])
    return {"statuses": statuses, "failures": failures, "operations": len(plan())}
