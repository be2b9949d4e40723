"""Builders: a fresh template plus the values a flow decided.

Builders are pure: ids, times and random values come in as arguments (the backend draws
them from its seeded source), so the same inputs always give the same object.
"""
from __future__ import annotations

from typing import Any, Optional

from simulator.objects import load_template

NULL_ADDRESS = ("city", "country", "line1", "line2", "postal_code", "state")


def address(given: Optional[dict] = None) -> dict:
    given = given or {}
    return {key: given.get(key) for key in NULL_ADDRESS}


def billing_details(given: Optional[dict] = None) -> dict:
    given = given or {}
    return {"address": address(given.get("address")), "email": given.get("email"),
            "name": given.get("name"), "phone": given.get("phone"), "tax_id": given.get("tax_id")}


def shipping(given: Optional[dict]) -> Optional[dict]:
    if given is None:
        return None
    return {"address": address(given.get("address")), "carrier": given.get("carrier"),
            "name": given.get("name"), "phone": given.get("phone"),
            "tracking_number": given.get("tracking_number")}


def payment_intent(id: str, created: int, amount: int, currency: str, client_secret: str,
                   **fields: Any) -> dict:
    obj = load_template("payment_intent")
    obj.update(id=id, created=created, amount=amount, currency=currency, client_secret=client_secret)
    obj.update(fields)
    return obj


def payment_method(id: str, created: int, card: dict, billing: dict, metadata: Optional[dict] = None,
                   allow_redisplay: str = "unspecified", customer: Optional[str] = None) -> dict:
    """``card``: brand, funding, country, last4, exp_month, exp_year, fingerprint, cvc_check."""
    obj = load_template("payment_method")
    obj.update(id=id, created=created, billing_details=billing, metadata=metadata or {},
               allow_redisplay=allow_redisplay, customer=customer)
    c = obj["card"]
    for key in ("brand", "country", "exp_month", "exp_year", "fingerprint", "funding", "last4"):
        c[key] = card[key]
    c["display_brand"] = card["brand"]
    c["networks"]["available"] = [card["brand"]]
    c["checks"]["cvc_check"] = card.get("cvc_check", "pass")
    return obj


def charge(id: str, created: int, intent: dict, pm: dict, account_descriptor: str = "Stripe",
           **fields: Any) -> dict:
    obj = load_template("charge")
    card = pm["card"]
    obj.update(id=id, created=created, amount=intent["amount"], currency=intent["currency"],
               customer=intent["customer"], description=intent["description"],
               metadata=dict(intent["metadata"]), payment_intent=intent["id"], payment_method=pm["id"],
               receipt_email=intent["receipt_email"], shipping=intent["shipping"],
               statement_descriptor=intent["statement_descriptor"],
               statement_descriptor_suffix=intent["statement_descriptor_suffix"],
               transfer_group=intent["transfer_group"],
               application_fee_amount=intent["application_fee_amount"],
               billing_details=pm["billing_details"])
    # What the cardholder's statement shows: the account's descriptor, a suffix after its
    # first 10 characters, or the intent's own full descriptor.
    if intent["statement_descriptor_suffix"]:
        obj["calculated_statement_descriptor"] = ("%s* %s" % (account_descriptor[:10].rstrip(),
                                                               intent["statement_descriptor_suffix"]))[:22]
    elif intent["statement_descriptor"]:
        obj["calculated_statement_descriptor"] = intent["statement_descriptor"]
    else:
        obj["calculated_statement_descriptor"] = account_descriptor
    details = obj["payment_method_details"]["card"]
    for key in ("brand", "country", "exp_month", "exp_year", "fingerprint", "funding", "last4"):
        details[key] = card[key]
    details["network"] = card["brand"]
    details["checks"] = dict(card["checks"])
    details["overcapture"]["maximum_amount_capturable"] = intent["amount"]
    obj.update(fields)
    return obj


def balance_transaction(id: str, created: int, amount: int, currency: str, source: str,
                        type: str, fee: int = 0, description: Optional[str] = None,
                        available_on: Optional[int] = None, status: str = "pending",
                        reporting_category: Optional[str] = None,
                        fee_description: str = "Stripe processing fees") -> dict:
    obj = load_template("balance_transaction")
    obj.update(id=id, created=created, amount=amount, currency=currency, source=source, type=type,
               fee=fee, net=amount - fee, description=description, status=status,
               available_on=created if available_on is None else available_on,
               reporting_category=reporting_category or type)
    if fee:
        obj["fee_details"] = [{"amount": fee, "application": None, "currency": currency,
                               "description": fee_description, "type": "stripe_fee"}]
    return obj


def refund(id: str, created: int, amount: int, charge: dict, balance_transaction: str,
           reason: Optional[str], metadata: dict, instructions_email: Optional[str] = None) -> dict:
    obj = load_template("refund")
    obj.update(id=id, created=created, amount=amount, charge=charge["id"], currency=charge["currency"],
               payment_intent=charge["payment_intent"], balance_transaction=balance_transaction,
               reason=reason, metadata=metadata)
    if instructions_email:
        obj["instructions_email"] = instructions_email
    return obj


def dispute(id: str, created: int, charge: dict, reason: str, status: str, due_by: int,
            balance_transactions: list, case_type: str, network_reason_code: str) -> dict:
    obj = load_template("dispute")
    obj.update(id=id, created=created, amount=charge["amount"], charge=charge["id"],
               currency=charge["currency"], payment_intent=charge["payment_intent"], reason=reason,
               status=status, balance_transactions=balance_transactions)
    obj["evidence_details"]["due_by"] = due_by
    details = obj["payment_method_details"]["card"]
    details.update(brand=charge["payment_method_details"]["card"]["brand"], case_type=case_type,
                   network_reason_code=network_reason_code)
    return obj


def line_item(id: str, price_id: str, product_id: str, created: int, currency: str,
              unit_amount: int, quantity: int, description: Optional[str]) -> dict:
    obj = load_template("line_item")
    total = unit_amount * quantity
    obj.update(id=id, currency=currency, description=description, quantity=quantity,
               amount_subtotal=total, amount_total=total)
    obj["price"].update(id=price_id, created=created, currency=currency, product=product_id,
                        unit_amount=unit_amount, unit_amount_decimal=str(unit_amount))
    return obj


def checkout_session(id: str, created: int, expires_at: int, currency: str, amount: int,
                     url: Optional[str], **fields: Any) -> dict:
    obj = load_template("checkout_session")
    obj.update(id=id, created=created, expires_at=expires_at, currency=currency,
               amount_subtotal=amount, amount_total=amount, url=url)
    obj.update(fields)
    return obj


def webhook_endpoint(id: str, created: int, url: str, enabled_events: list, **fields: Any) -> dict:
    obj = load_template("webhook_endpoint")
    obj.update(id=id, created=created, url=url, enabled_events=enabled_events)
    obj.update(fields)
    return obj


def account(id: str, created: int) -> dict:
    obj = load_template("account")
    obj.update(id=id, created=created)
    obj["external_accounts"]["url"] = "/v1/accounts/%s/external_accounts" % id
    obj["tos_acceptance"]["date"] = created
    return obj


def event(id: str, type: str, created: int, data_object: dict, pending_webhooks: int,
          request: Optional[dict], previous_attributes: Optional[dict] = None) -> dict:
    obj = load_template("event")
    obj.update(id=id, type=type, created=created, pending_webhooks=pending_webhooks)
    obj["data"]["object"] = data_object
    if previous_attributes is not None:
        obj["data"]["previous_attributes"] = previous_attributes
    if request is not None:
        obj["request"] = {"id": request.get("id"), "idempotency_key": request.get("idempotency_key")}
    return obj
