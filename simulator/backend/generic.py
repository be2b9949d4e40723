"""The generic store: every operation without a hand-written life cycle, kept statefully.

A route whose action has no backend method of its name lands in ``generic_action``. The
operation (``simulator.definitions``) says what it is: create / retrieve / update /
delete / list / search on a resource, or a custom action (``finalize``, ``void``, ``pay``,
``attach``...). Objects start as Stripe's example object of their kind
(``simulator/objects/examples.json``) or, without one, as the definitions' empty value of
every field that is always present; the request's values are applied on top, with Stripe's
``metadata`` rules (keys merge, ``""`` deletes a key, ``metadata=""`` clears). Ids take the
prefix of the example's id. ``<object>.created/updated/deleted`` (and the event a custom
action names, ``invoice.finalized``) are recorded when Stripe has that event type.

Objects live in one ``CompactIndex`` per object name (``backend.generic``), covered by
reset and snapshot like the hand-written collections.
"""
from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import Optional

from simulator import definitions as D
from simulator.errors import InvalidRequestError, ResourceMissingError
from simulator.objects import clone

from . import params as P
from .lists import CompactIndex

_EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "objects", "examples.json")

# The state a custom action leaves an object in: the first of these its ``status`` enum has.
ACTION_STATES = {
    "finalize": ("open",), "void": ("void", "voided", "canceled"), "pay": ("paid", "succeeded"),
    "mark_uncollectible": ("uncollectible",), "cancel": ("canceled", "cancelled"), "accept": ("accepted",),
    "expire": ("expired",), "close": ("closed",), "archive": ("archived", "inactive"),
    "unarchive": ("active",), "release": ("released",), "reverse": ("reversed",), "approve": ("closed",),
    "deactivate": ("inactive",), "reactivate": ("active",), "activate": ("active",), "resume": ("active",),
    "pause": ("paused",), "confirm": ("succeeded", "processing"), "verify": ("verified",),
    "reject": ("rejected",), "succeed": ("succeeded",), "fail": ("failed",), "redact": ("redacted",),
    "post": ("posted",), "return": ("returned",), "submit": ("submitted",), "send": ("open",),
    "refresh": (), "apply_customer_balance": (), "attach": (), "detach": (),
}
# A custom action's event: invoice.finalize -> invoice.finalized, payment_method.attach -> .attached
_PAST = {"finalize": "finalized", "void": "voided", "pay": "paid", "mark_uncollectible": "marked_uncollectible",
         "cancel": "canceled", "accept": "accepted", "attach": "attached", "detach": "detached",
         "send": "sent", "close": "closed", "pause": "paused", "resume": "resumed", "release": "released",
         "reverse": "reversed", "expire": "expired", "deactivate": "deactivated", "reactivate": "reactivated",
         "redact": "redacted", "post": "posted", "fail": "failed", "succeed": "succeeded", "return": "returned"}

LIST_PARAMS = frozenset(("limit", "starting_after", "ending_before", "created", "expand"))

# prefix an object without an example id gets: the initials of its name (stripe-like, unique enough)
_SEARCH_CLAUSE = re.compile(
    r"\s*(-)?\s*(metadata\[(?:'[^']*'|\"[^\"]*\")\]|[A-Za-z_][\w.]*)\s*(:|~|>=|<=|>|<)\s*"
    r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s]+)\s*")


@lru_cache(maxsize=1)
def examples() -> dict:
    with open(_EXAMPLES, encoding="utf-8") as fh:
        return json.load(fh)["resources"]


def empty_value(node, obj: Optional[dict] = None, nullable: bool = False):
    """The definitions' empty value of a field of type ``node``."""
    if nullable:
        return None
    if node == "s":
        return ""
    if node == "n":
        return 0
    if node == "b":
        return False
    if node == "m":
        return {}
    if node == "*" or not isinstance(node, dict):
        return None
    if "e" in node:
        return node["e"][0]
    if "l" in node:
        return []
    if "L" in node:
        return {"object": "list", "data": [], "has_more": False,
                "url": "/v1/%s" % ((obj or {}).get("object") or "")}
    if "d" in node:
        return {}
    if "t" in node:
        return skeleton(node["t"])
    return None


def skeleton(owner: str) -> dict:
    """Every always-present field of ``owner`` at its empty value."""
    out = {}
    for name, (node, flags) in (D.fields(owner) or {}).items():
        if flags & (D.OPTIONAL | D.INCLUDABLE):
            continue
        out[name] = empty_value(node, None, bool(flags & D.NULLABLE))
    return out


def conform(value, owner: str):
    """An example object made to fit the definitions: fields they do not have dropped, ones
    they require added (empty), and another object expanded in the example put back to its id."""
    fields = D.fields(owner)
    if not isinstance(value, dict) or fields is None:
        return value
    out = {}
    for name, (node, flags) in fields.items():
        if name in value:
            out[name] = _conform_value(value[name], node, flags)
        elif not flags & (D.OPTIONAL | D.INCLUDABLE):
            out[name] = empty_value(node, None, bool(flags & D.NULLABLE))
    return out


def _conform_value(value, node, flags):
    if value is None:
        return None if flags & D.NULLABLE else empty_value(node)
    if not isinstance(node, dict):
        return value
    if "x" in node:
        return value.get("id") if isinstance(value, dict) else value
    if "t" in node:
        return conform(value, node["t"])
    if "o" in node:
        return conform(value, node["o"])
    if "l" in node and isinstance(value, list):
        return [_conform_value(v, node["l"], 0) for v in value]
    if "L" in node and isinstance(value, dict):
        value = dict(value)
        value["data"] = [conform(v, node["L"]) for v in value.get("data") or []]
        return value
    if "e" in node and value not in node["e"]:
        return node["e"][0]
    if "u" in node and isinstance(value, dict):
        for option in node["u"]:
            if isinstance(option, dict) and "x" in option:
                return value.get("id")
    return value


def merge(old, new: dict, owner: str) -> dict:
    """``new`` (a request's hash) over ``old`` (or the type's skeleton), hash by hash."""
    out = dict(old) if isinstance(old, dict) else skeleton(owner)
    fields = D.fields(owner) or {}
    for key, value in new.items():
        node = fields.get(key, [None])[0]
        if isinstance(value, dict) and isinstance(node, dict) and "t" in node:
            out[key] = merge(out.get(key), value, node["t"])
        else:
            out[key] = value
    return out


def _prefix(obj_name: str) -> str:
    res = D.resource(obj_name)
    if res is not None and res.prefix:
        return res.prefix
    last = obj_name.split(".")[-1]
    return "".join(w[0] for w in last.split("_"))[:4] or "obj"


def _parse_search(query: str) -> tuple[str, list]:
    """Stripe's search language (subset): clauses ``field:'v'``, ``metadata['k']:'v'``, ``~``
    (substring), ``>``/``<``/``>=``/``<=`` on numbers, ``-`` negates; joined by AND or OR (not both)."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequestError("Missing required param: query.", param="query", code="parameter_missing")
    clauses, joiner, pos = [], None, 0
    text = query.strip()
    while pos < len(text):
        m = _SEARCH_CLAUSE.match(text, pos)
        if m is None:
            raise InvalidRequestError("Invalid query: could not parse %r (see Stripe's search query language)."
                                      % text[pos:pos + 40], param="query")
        neg, field, op, raw = m.groups()
        if raw[:1] in ("'", '"'):
            value = raw[1:-1].replace("\\'", "'").replace('\\"', '"')
        else:
            try:
                value = int(raw) if re.fullmatch(r"-?\d+", raw) else float(raw)
            except ValueError:
                value = raw if raw == "null" else None
                if value is None:
                    raise InvalidRequestError("Invalid query: the value %r must be quoted." % raw,
                                              param="query") from None
        if op in (">", "<", ">=", "<=") and not isinstance(value, (int, float)):
            raise InvalidRequestError("Invalid query: %s needs a number on %s." % (op, field), param="query")
        if field.startswith("metadata["):
            field = "metadata." + field[10:-2]
        clauses.append((bool(neg), field, op, value))
        pos = m.end()
        rest = text[pos:]
        word = re.match(r"(AND|OR)\s+", rest)
        if word:
            if joiner is not None and joiner != word.group(1):
                raise InvalidRequestError("Invalid query: a query cannot mix AND and OR.", param="query")
            joiner = word.group(1)
            pos += word.end()
        elif rest.strip():
            raise InvalidRequestError("Invalid query: expected AND or OR before %r." % rest[:40], param="query")
    return joiner or "AND", clauses


def _field_value(obj: dict, field: str):
    value = obj
    for part in field.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    return value


def _clause_matches(obj: dict, clause) -> bool:
    neg, field, op, want = clause
    got = _field_value(obj, field)
    if op == ":":
        ok = (got is None) if want == "null" else (str(got).lower() == str(want).lower() if got is not None else False)
        if isinstance(got, bool):
            ok = str(got).lower() == str(want).lower()
    elif op == "~":
        ok = isinstance(got, str) and str(want).lower() in got.lower()
    else:
        ok = isinstance(got, (int, float)) and not isinstance(got, bool) and {
            ">": got > want, "<": got < want, ">=": got >= want, "<=": got <= want}[op]
    return ok != neg


def search_matches(obj: dict, joiner: str, clauses: list) -> bool:
    results = (_clause_matches(obj, c) for c in clauses)
    return all(results) if joiner == "AND" else any(results)


class GenericMixin:
    """Create/retrieve/update/delete/list/search and custom actions for any defined resource."""

    def _init_generic(self) -> None:
        self.generic: dict[str, CompactIndex] = {}

    def _generic_index(self, obj_name: str) -> CompactIndex:
        index = self.generic.get(obj_name)
        if index is None:
            index = self.generic[obj_name] = CompactIndex(obj_name, "/v1/%s" % obj_name, keys=("parent",))
        return index

    # -- lookups shared with expansion ------------------------------------------------
    def find_object(self, obj_id: str) -> Optional[dict]:
        """A copy of the object with this id, wherever it is kept (None: unknown)."""
        from .state import COLLECTIONS
        for name, (obj_name, _url, _keys) in COLLECTIONS.items():
            res = D.resource(obj_name)
            if res is not None and res.prefix and obj_id.startswith(res.prefix + "_"):
                found = getattr(self, name).read(obj_id)
                if found is not None:
                    return found if name != "webhook_endpoints_index" else self._public(found)
        for index in self.generic.values():
            if obj_id in index:
                return index.read(obj_id)
        if obj_id == self.account["id"]:
            return clone(self.account)
        return None

    def require_object(self, obj_id, kind: str, param: str) -> dict:
        """The object ``obj_id`` of ``kind`` (a customer a payment names, a price a line item
        names): Stripe's 404 ``resource_missing`` when there is none."""
        found = self.find_object(obj_id) if isinstance(obj_id, str) else None
        if found is None or found.get("object") != kind or found.get("deleted"):
            raise ResourceMissingError("No such %s: '%s'" % (kind, obj_id), param=param)
        return found

    def included_value(self, obj: dict, field: str):
        return None  # generic objects keep included fields stored; render() strips them

    # -- the action -------------------------------------------------------------------
    def generic_action(self, op, ids: list, params: Optional[dict], request: Optional[dict] = None):
        p = P.check(op.action, params)
        verb = op.action.split("_", 1)[0]
        obj_name = op.answer or self._object_from_path(op.path)
        segments = op.path.strip("/").split("/")
        own_id = segments[-1].startswith("{")
        parent = ids[0] if (len(ids) > 1 or (ids and not own_id)) else None
        with self.lock:
            if op.kind == "search":
                return self._generic_search(obj_name, op, p)
            if op.kind == "list":
                return self._generic_list(obj_name, op, ids, p, parent)
            if op.method == "DELETE":
                if verb != "delete":  # DELETE /v1/subscriptions/{id} is cancel_subscription
                    return self._render(self._custom_action(obj_name, op, ids, p, request))
                return self._generic_delete(obj_name, ids[-1], request)
            if op.method == "GET":
                if own_id:
                    return self._render(self._generic_get(obj_name, ids[-1], op))
                return self._render(self._singleton(obj_name, parent or (ids[0] if ids else None)))
            # POST
            if verb == "create" and not own_id:
                return self._render(self._generic_create(obj_name, p, parent, request, op))
            if verb == "update" and own_id:
                return self._render(self._generic_update(obj_name, ids[-1], p, request, op))
            if not ids:  # an action on a collection (create_preview, ...): a fresh object
                return self._render(self._build(obj_name, p, None, persist=False))
            if own_id and len(segments) >= 2 and not segments[-2].startswith("{") and verb in ("update",):
                return self._render(self._generic_update(obj_name, ids[-1], p, request, op))
            return self._render(self._custom_action(obj_name, op, ids, p, request))

    @staticmethod
    def _object_from_path(path: str) -> str:
        words = [s for s in path.strip("/").split("/")[1:] if not s.startswith("{")]
        name = words[-1] if words else "object"
        return name[:-1] if name.endswith("s") else name

    def _render(self, obj: dict) -> dict:
        """The answer: the fields Stripe shows only when expanded are left out."""
        out = clone(obj)
        owner = out.get("object")
        for field in D.includable_fields(owner) if isinstance(owner, str) else ():
            out.pop(field, None)
        return out

    def _index_for(self, obj_name: str, create: bool = False):
        """Where objects of a kind live: the hand-written collection that holds them (charges,
        payment methods: a generic update or ``attach`` changes the real object), else the
        generic store's."""
        from .state import COLLECTIONS
        for name, (kind, _url, _keys) in COLLECTIONS.items():
            if kind == obj_name and name != "webhook_endpoints_index":
                return getattr(self, name)
        return self._generic_index(obj_name) if create else self.generic.get(obj_name)

    def _generic_get(self, obj_name: str, obj_id: str, op=None) -> dict:
        index = self._index_for(obj_name)
        obj = index.get(obj_id) if index is not None and isinstance(obj_id, str) else None
        if obj is None:
            param = None
            if op is not None:
                names = re.findall(r"\{(\w+)\}", op.path)
                param = names[-1] if names else None
            raise ResourceMissingError("No such %s: '%s'" % (obj_name.split(".")[-1], obj_id), param=param or "id")
        return obj

    def _build(self, obj_name: str, p: dict, parent: Optional[str], persist: bool = True) -> dict:
        example = examples().get(obj_name)
        obj = conform(clone(example), obj_name) if isinstance(example, dict) else skeleton(obj_name)
        fields = D.fields(obj_name) or {}
        for name in D.includable_fields(obj_name):
            obj.pop(name, None)
        # Another object's id in an example is a stub: no object here has it.
        for name, (node, flags) in fields.items():
            if isinstance(node, dict) and "x" in node and name in obj and flags & D.NULLABLE:
                obj[name] = None
        if "id" in fields:
            obj["id"] = self.new_id(_prefix(obj_name))
        obj["object"] = obj_name
        if "created" in fields:
            obj["created"] = int(self.clock.now())
        if "livemode" in fields:
            obj["livemode"] = False
        if "metadata" in fields:
            obj["metadata"] = {}
        if parent is not None:
            for key in self._parent_fields(obj_name):
                obj[key] = parent
                break
        self._apply(obj, fields, p, creating=True)
        return obj

    @staticmethod
    def _parent_fields(obj_name: str) -> list:
        fields = D.fields(obj_name) or {}
        return [k for k in ("customer", "account", "invoice", "subscription", "charge", "transfer", "source",
                            "payment_intent", "session", "product") if k in fields]

    def _apply(self, obj: dict, fields: dict, p: dict, creating: bool = False) -> dict:
        """Set the request's values on the object's fields of the same name; returns the
        previous values of what changed (an event's ``previous_attributes``)."""
        previous = {}
        for key, value in p.items():
            entry = fields.get(key)
            if entry is None:
                continue  # a parameter that is no field (``confirm``, ``items``): its effect is not modelled
            node, flags = entry
            old = obj.get(key)
            if key == "metadata":
                new = {} if value is None else dict(obj.get("metadata") or {})
                for k, v in (value or {}).items():
                    if v in ("", None):
                        new.pop(k, None)
                    else:
                        new[k] = v
                value = new
            elif value is None and not flags & D.NULLABLE:
                value = empty_value(node)
            elif isinstance(value, dict) and isinstance(node, dict) and "t" in node:
                value = merge(old, value, node["t"])
            if not _fits(value, node, flags):
                continue  # a parameter shaped unlike the field (``items`` lists ...): not copied
            if old != value:
                previous[key] = old
                obj[key] = value
        return previous

    def _event(self, obj_name: str, what: str, obj: dict, previous=None, request=None) -> None:
        res = D.resource(obj_name)
        if res is None:
            return
        for et in res.events:
            if et.endswith("." + what) and et.count(".") == obj_name.count(".") + 1 + (
                    1 if et.startswith(("customer.subscription", "charge.dispute", "customer.tax_id",
                                        "customer.source", "customer.discount")) else 0):
                self.record_event(et, self._render(obj), previous_attributes=previous, request=request)
                return

    def _generic_create(self, obj_name: str, p: dict, parent, request, op) -> dict:
        if parent is not None:
            self._require_parent(op, parent)
        obj = self._build(obj_name, p, parent)
        # objects without an id (account links, meter events) are kept under a minted key
        self._generic_index(obj_name).add(obj, obj_id=obj.get("id") or self.new_id("obj"), parent=parent)
        self._event(obj_name, "created", obj, request=request)
        return obj

    def _require_parent(self, op, parent_id: str) -> None:
        segments = op.path.strip("/").split("/")
        kind = segments[1] if len(segments) > 1 else ""
        if self.find_object(parent_id) is None:
            raise ResourceMissingError("No such %s: '%s'" % (kind.rstrip("s"), parent_id),
                                       param=kind.rstrip("s"))

    def _generic_update(self, obj_name: str, obj_id: str, p: dict, request, op) -> dict:
        obj = self._generic_get(obj_name, obj_id, op)
        previous = self._apply(obj, D.fields(obj_name) or {}, p)
        if previous:
            self._event(obj_name, "updated", obj, previous, request)
        return obj

    def _generic_delete(self, obj_name: str, obj_id: str, request) -> dict:
        index = self._index_for(obj_name)
        obj = index.get(obj_id) if index is not None else None
        if obj is None:
            raise ResourceMissingError("No such %s: '%s'" % (obj_name.split(".")[-1], obj_id))
        shown = self._render(obj)
        index.remove(obj_id)
        self._event(obj_name, "deleted", shown, request=request)
        if D.resource("deleted:" + obj_name) is None:
            return shown  # no deleted form in the definitions (ephemeral keys): the object itself
        return {"id": obj_id, "object": obj_name, "deleted": True}

    def _singleton(self, obj_name: str, parent: Optional[str]) -> dict:
        """GET without an id (``/v1/balance``, ``/v1/customers/{c}/cash_balance``): one per parent."""
        index = self._generic_index(obj_name)
        key = "%s:%s" % (obj_name, parent or "-")
        obj = index.get(key)
        if obj is None:
            obj = self._build(obj_name, {}, parent)
            obj.pop("id", None) if "id" not in (D.fields(obj_name) or {}) else None
            index.add(obj, obj_id=key, parent=parent)
            obj = index.get(key)
        return obj

    def _generic_list(self, obj_name: str, op, ids: list, p: dict, parent) -> dict:
        index = self._index_for(obj_name, create=True)
        given = {k: v for k, v in p.items() if k not in LIST_PARAMS and not isinstance(v, (dict, list))
                 and k in (D.fields(obj_name) or {})}
        filters = None
        if ids and "parent" in index.by:
            filters = {"parent": ids[0]}
        elif ids:  # a hand-written collection listed under a parent: /v1/customers/{c}/payment_methods
            for key in self._parent_fields(obj_name):
                given.setdefault(key, ids[0])
                break
        where = (lambda o: all(o.get(k) == v for k, v in given.items())) if given else None  # noqa: E731
        page = index.page(p, filters, render=self._render, where=where)
        page["url"] = _fill(op.path, ids)
        return page

    def _generic_search(self, obj_name: str, op, p: dict) -> dict:
        joiner, clauses = _parse_search(p.get("query"))
        limit = p.get("limit") or 10
        page = p.get("page")
        start = 0
        if page:
            try:
                start = int(str(page).split("_", 1)[-1])
            except ValueError:
                raise InvalidRequestError("Invalid page: %s" % page, param="page") from None
        matched = [o for o in self._searchable(obj_name) if search_matches(o, joiner, clauses)]
        matched.sort(key=lambda o: o.get("created") or 0, reverse=True)
        chunk = matched[start:start + limit]
        more = len(matched) > start + limit
        return {"object": "search_result", "data": [self._render(o) for o in chunk], "has_more": more,
                "next_page": ("page_%d" % (start + limit)) if more else None, "url": op.path,
                "total_count": len(matched)}

    def _searchable(self, obj_name: str):
        """Every object of a kind, hand-written collections included (payment intents, charges)."""
        from .state import COLLECTIONS
        for name, (kind, _url, _keys) in COLLECTIONS.items():
            if kind == obj_name:
                index = getattr(self, name)
                return [index.read(i) for i in list(index.order) if i in index]
        index = self.generic.get(obj_name)
        if index is None:
            return []
        return [index.read(i) for i in list(index.order) if i in index]

    def _custom_action(self, obj_name: str, op, ids: list, p: dict, request) -> dict:
        segments = op.path.strip("/").split("/")
        verb = segments[-1] if not segments[-1].startswith("{") else op.action.split("_", 1)[0]
        target = ids[-1]
        index = self._index_for(obj_name)
        obj = index.get(target) if index is not None and isinstance(target, str) else None
        if obj is None:
            raise ResourceMissingError("No such %s: '%s'" % (obj_name.split(".")[-1], target),
                                       param=re.findall(r"\{(\w+)\}", op.path)[-1] if "{" in op.path else "id")
        fields = D.fields(obj_name) or {}
        previous = self._apply(obj, fields, p)
        if verb == "detach" and "customer" in fields:
            previous.setdefault("customer", obj.get("customer"))
            obj["customer"] = None
        status = fields.get("status")
        for state in ACTION_STATES.get(verb, ()):
            if status and isinstance(status[0], dict) and state in status[0].get("e", ()):
                if obj.get("status") != state:
                    previous.setdefault("status", obj.get("status"))
                    obj["status"] = state
                break
        past = _PAST.get(verb)
        events = D.resource(obj_name).events if D.resource(obj_name) else ()
        if verb == "cancel" and not any(e.endswith(".canceled") for e in events):
            past = "deleted"  # a canceled subscription is customer.subscription.deleted
        if past and any(e.endswith("." + past) for e in events):
            self._event(obj_name, past, obj, previous or None, request)
        elif previous:
            self._event(obj_name, "updated", obj, previous, request)
        return obj


def _fits(value, node, flags) -> bool:
    if value is None:
        return bool(flags & D.NULLABLE)
    if node == "s":
        return isinstance(value, str)
    if node == "n":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if node == "b":
        return isinstance(value, bool)
    if node == "m":
        return isinstance(value, dict)
    if node == "*":
        return True
    if "e" in node:
        return value in node["e"]
    if "x" in node:
        return isinstance(value, str)
    if "l" in node:
        return isinstance(value, list) and all(_fits(v, node["l"], 0) for v in value)
    if "t" in node or "d" in node:
        return isinstance(value, dict) and ("t" not in node or _fits_type(value, node["t"]))
    if "u" in node:
        return any(_fits(value, n, flags) for n in node["u"])
    return False


def _fits_type(value: dict, owner: str) -> bool:
    fields = D.fields(owner) or {}
    return all(k in fields and _fits(v, fields[k][0], fields[k][1]) for k, v in value.items())


def _fill(template: str, ids: list) -> str:
    it = iter(ids)
    return re.sub(r"\{\w+\}", lambda m: next(it, m.group(0)), template)
