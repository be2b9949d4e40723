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
