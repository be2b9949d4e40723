"""``expand[]``: replace id references with the objects they name."""
from __future__ import annotations

from typing import Optional

from simulator.errors import InvalidRequestError
from simulator.objects import clone

# object kind -> field -> backend collection holding what it references (None: by id prefix)
EXPANDABLE: dict[str, dict[str, Optional[str]]] = {
    "payment_intent": {"latest_charge": "charges", "payment_method": "payment_methods",
                       "customer": None, "review": None, "application": None, "on_behalf_of": None},
    "charge": {"balance_transaction": "balance_transactions", "payment_intent": "payment_intents",
               "failure_balance_transaction": "balance_transactions", "customer": None,
               "review": None, "application": None, "application_fee": None, "on_behalf_of": None,
               "source_transfer": None},
    "refund": {"balance_transaction": "balance_transactions", "charge": "charges",
               "payment_intent": "payment_intents", "failure_balance_transaction": "balance_transactions",
               "source_transfer_reversal": None, "transfer_reversal": None},
    "dispute": {"charge": "charges", "payment_intent": "payment_intents"},
    "balance_transaction": {"source": None},
    "checkout.session": {"payment_intent": "payment_intents", "customer": None, "invoice": None,
                         "payment_link": None, "setup_intent": None, "subscription": None,
                         "line_items": "line_items"},
    "payment_method": {"customer": None},
}

BY_PREFIX = {"ch_": "charges", "re_": "refunds", "dp_": "disputes", "pi_": "payment_intents",
             "txn_": "balance_transactions", "pm_": "payment_methods"}

# collection -> the kind of object it holds, for checking a path before anything runs
COLLECTION_KIND = {"charges": "charge", "payment_intents": "payment_intent", "refunds": "refund",
                   "disputes": "dispute", "balance_transactions": "balance_transaction",
                   "payment_methods": "payment_method"}


def check_paths(kind: str, paths: list) -> None:
    """Refuse an ``expand`` path that cannot apply to an answer of ``kind``, as far as the
    kinds along the path are known without looking at data.

    Why before the action: the answer is expanded after the action ran, so a POST with a
    bad path used to change state and then answer 400, and a client retrying that "failed"
    refund refunded twice. Stripe refuses such a request without doing anything."""
    for path in paths:
        current: Optional[str] = kind
        for part in path.split("."):
            if current is None:
                break  # an id of any kind (or a list): only the answer itself can tell
            fields = EXPANDABLE.get(current, {})
            if part not in fields:
                raise InvalidRequestError("This property cannot be expanded (%s)." % path, param="expand")
            current = COLLECTION_KIND.get(fields[part] or "")


class ExpandMixin:
    def expand(self, obj: dict, paths: list) -> dict:
        """A copy of ``obj`` with each dotted path in ``paths`` expanded (lists: ``data.x``)."""
        with self.lock:
            out = clone(obj)
            for path in paths or []:
                if not isinstance(path, str) or not path:
                    raise InvalidRequestError("Invalid expand: %r" % (path,), param="expand")
                self._expand_path(out, path.split("."), path)
            return out

    def _expand_path(self, obj, parts: list, full: str) -> None:
        if obj is None or isinstance(obj, str):
            return
        head, rest = parts[0], parts[1:]
        if obj.get("object") == "list":
            if head != "data" or not rest:
                raise InvalidRequestError("This property cannot be expanded (%s)." % full, param="expand")
            for item in obj["data"]:
                self._expand_path(item, rest, full)
            return
        fields = EXPANDABLE.get(obj.get("object"), {})
        if head not in fields:
            raise InvalidRequestError("This property cannot be expanded (%s)." % full, param="expand")
        if head == "line_items":
            obj["line_items"] = self._line_items_list(obj["id"])
            value = obj["line_items"]
        else:
            value = obj.get(head)
            if isinstance(value, str):
                found = self._lookup(fields[head], value)
                if found is not None:
                    value = found
                    obj[head] = value
        if rest:
            if not isinstance(value, dict):
                if value is None:
                    return
                raise InvalidRequestError("This property cannot be expanded (%s)." % full, param="expand")
            self._expand_path(value, rest, full)

    def _lookup(self, collection: Optional[str], obj_id: str) -> Optional[dict]:
        if collection is None:
            collection = next((c for prefix, c in BY_PREFIX.items() if obj_id.startswith(prefix)), None)
            if collection is None:
                return None
        return getattr(self, collection).read(obj_id)
