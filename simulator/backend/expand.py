"""``expand[]``: replace ids with the objects they name, and add fields shown only on request.

What expands comes from the definitions (``simulator.definitions``): a field whose type is
an id of some objects (``{"x": [...]}``) and a field Stripe leaves out unless asked
(``INCLUDABLE``: ``line_items``, ``total_details.breakdown``, ``line_items.data.discounts``).
Paths walk through nested objects, lists (``data.x`` on a list object, every element of an
array) and expanded objects, up to ``MAX_DEPTH`` parts, as Stripe allows.
"""
from __future__ import annotations

from typing import Optional

from simulator import definitions as D
from simulator.errors import InvalidRequestError
from simulator.objects import clone

MAX_DEPTH = 4


def _refuse(path: str, why: str = "") -> InvalidRequestError:
    return InvalidRequestError("This property cannot be expanded (%s).%s" % (path, why), param="expand")


def _owner_of(node) -> Optional[str]:
    """The fields owner (object name or interface) a walk continues into, or None (unknown)."""
    if not isinstance(node, dict):
        return None
    if "t" in node:
        return node["t"]
    if "o" in node:
        return node["o"]
    if "x" in node:
        return node["x"][0] if len(node["x"]) == 1 else None
    if "l" in node:
        return _owner_of(node["l"])
    if "u" in node:
        owners = {_owner_of(n) for n in node["u"]} - {None}
        return owners.pop() if len(owners) == 1 else None
    return None


def _is_expandable(node, flags: int) -> bool:
    if flags & D.INCLUDABLE:
        return True
    while isinstance(node, dict) and "l" in node:
        node = node["l"]
    return isinstance(node, dict) and "x" in node


def check_paths(op, paths: list) -> None:
    """Refuse an ``expand`` path that cannot apply to what ``op`` answers, before it runs.

    Why before the action: the answer is expanded after the action ran, so a POST with a
    bad path used to change state and then answer 400, and a client retrying that "failed"
    refund refunded twice. Stripe refuses such a request without doing anything."""
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise InvalidRequestError("You cannot expand more than %d levels of a property (%s)."
                                      % (MAX_DEPTH, path), param="expand")
        if op.kind in ("list", "search"):
            if parts[0] != "data" or len(parts) < 2:
                raise _refuse(path, " On a list, expand its items with data.<property>.")
            parts = parts[1:]
        check_path(op.answer, parts, path)


def check_path(owner: Optional[str], parts: list, path: str) -> None:
    for i, part in enumerate(parts):
        if owner is None:
            return  # an id of several kinds: only the data can tell
        fields = D.fields(owner)
        if fields is None:
            return
        if part == "data" and owner is not None and D.resource(owner) is not None and i > 0:
            continue  # inside a list object: its items are the owner
        entry = fields.get(part)
        if entry is None:
            raise _refuse(path)
        node, flags = entry
        last = i == len(parts) - 1
        if last and not _is_expandable(node, flags):
            raise _refuse(path)
        if isinstance(node, dict) and "L" in node:
            owner = node["L"]
            if not last and parts[i + 1] != "data":
                raise _refuse(path)
            continue
        owner = _owner_of(node)


class ExpandMixin:
    def expand(self, obj: dict, paths: list) -> dict:
        """A copy of ``obj`` with each dotted path in ``paths`` expanded (lists: ``data.x``)."""
        with self.lock:
            out = clone(obj)
            for path in paths or []:
                if not isinstance(path, str) or not path:
                    raise InvalidRequestError("Invalid expand: %r" % (path,), param="expand")
                self._expand_path(out, None, path.split("."), path)
            return out

    def _expand_path(self, obj, owner: Optional[str], parts: list, full: str) -> None:
        if obj is None or isinstance(obj, str):
            return
        if isinstance(obj, list):
            for item in obj:
                self._expand_path(item, owner, parts, full)
            return
        if not isinstance(obj, dict):
            return
        head, rest = parts[0], parts[1:]
        if obj.get("object") in ("list", "search_result"):
            if head != "data" or not rest:
                raise _refuse(full)
            for item in obj.get("data") or []:
                self._expand_path(item, owner, rest, full)
            return
        kind = obj.get("object")
        if isinstance(kind, str) and D.resource(kind) is not None:
            owner = kind
        fields = D.fields(owner) if owner else None
        if fields is None or head not in fields:
            raise _refuse(full)
        node, flags = fields[head]
        value = obj.get(head)
        if flags & D.INCLUDABLE and head not in obj:
            value = self._include(obj, owner, head, node)
            obj[head] = value
        elif _is_expandable(node, flags):
            value = self._expand_ids(value)
            obj[head] = value
        elif not rest:
            raise _refuse(full)
        if rest:
            inner = node["L"] if isinstance(node, dict) and "L" in node else _owner_of(node)
            self._expand_path(value, inner, rest, full)

    def _expand_ids(self, value):
        if isinstance(value, str):
            found = self.find_object(value)
            return found if found is not None else value
        if isinstance(value, list):
            return [self._expand_ids(v) for v in value]
        return value

    def _include(self, obj: dict, owner: str, field: str, node):
        """A field Stripe shows only when expanded: a backend hook ``_include_<owner>_<field>``
        when the data lives elsewhere (checkout line items), else the generic store's copy,
        else the definitions' empty value of its type."""
        hook = getattr(self, "_include_%s_%s" % (owner.replace(".", "_").lower(), field), None)
        if hook is not None:
            return hook(obj)
        stored = self.included_value(obj, field) if hasattr(self, "included_value") else None
        if stored is not None:
            return stored
        from simulator.backend.generic import empty_value
        return empty_value(node, obj)

    def _include_checkout_session_line_items(self, session: dict) -> dict:
        return self._line_items_list(session["id"])
