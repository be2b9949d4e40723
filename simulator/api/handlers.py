"""Thin handlers, one per API action: call the backend method of the same name.

Each takes the backend, the path id (or None), the decoded parameters (``expand`` already
taken out) and the request info ``{"id": "req_...", "idempotency_key": ...}`` that the
backend puts on the events a mutating call records.
"""
from __future__ import annotations


def create_payment_intent(b, id, params, req):
    return b.create_payment_intent(params, request=req)


def list_payment_intents(b, id, params, req):
    return b.list_payment_intents(params)


def retrieve_payment_intent(b, id, params, req):
    return b.retrieve_payment_intent(id, params)


def update_payment_intent(b, id, params, req):
    return b.update_payment_intent(id, params, request=req)


def confirm_payment_intent(b, id, params, req):
    return b.confirm_payment_intent(id, params, request=req)


def capture_payment_intent(b, id, params, req):
    return b.capture_payment_intent(id, params, request=req)


def cancel_payment_intent(b, id, params, req):
    return b.cancel_payment_intent(id, params, request=req)


def list_charges(b, id, params, req):
    return b.list_charges(params)


def retrieve_charge(b, id, params, req):
    return b.retrieve_charge(id, params)


def create_refund(b, id, params, req):
    return b.create_refund(params, request=req)


def list_refunds(b, id, params, req):
    return b.list_refunds(params)


def retrieve_refund(b, id, params, req):
    return b.retrieve_refund(id, params)


def list_disputes(b, id, params, req):
    return b.list_disputes(params)


def retrieve_dispute(b, id, params, req):
    return b.retrieve_dispute(id, params)


def update_dispute(b, id, params, req):
    return b.update_dispute(id, params, request=req)


def close_dispute(b, id, params, req):
    return b.close_dispute(id, params, request=req)


def create_payment_method(b, id, params, req):
    return b.create_payment_method(params, request=req)


def retrieve_payment_method(b, id, params, req):
    return b.retrieve_payment_method(id, params)


def retrieve_balance_transaction(b, id, params, req):
    return b.retrieve_balance_transaction(id, params)


def create_checkout_session(b, id, params, req):
    return b.create_checkout_session(params, request=req)


def retrieve_checkout_session(b, id, params, req):
    return b.retrieve_checkout_session(id, params)


def list_checkout_sessions(b, id, params, req):
    return b.list_checkout_sessions(params)


def list_checkout_session_line_items(b, id, params, req):
    return b.list_checkout_session_line_items(id, params)


def expire_checkout_session(b, id, params, req):
    return b.expire_checkout_session(id, params, request=req)


def complete_checkout_session(b, id, params, req):
    return b.complete_checkout_session(id, params, request=req)


def retrieve_account(b, id, params, req):
    return b.retrieve_account(params)


def list_events(b, id, params, req):
    return b.list_events(params)


def retrieve_event(b, id, params, req):
    return b.retrieve_event(id, params)


def create_webhook_endpoint(b, id, params, req):
    return b.create_webhook_endpoint(params, request=req)


def list_webhook_endpoints(b, id, params, req):
    return b.list_webhook_endpoints(params)


def retrieve_webhook_endpoint(b, id, params, req):
    return b.retrieve_webhook_endpoint(id, params)


def update_webhook_endpoint(b, id, params, req):
    return b.update_webhook_endpoint(id, params, request=req)


def delete_webhook_endpoint(b, id, params, req):
    return b.delete_webhook_endpoint(id, params, request=req)
