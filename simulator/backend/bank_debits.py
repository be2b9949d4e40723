"""ACH Direct Debit test bank accounts as data, and the objects a bank debit makes.

A bank debit is a *delayed notification* payment method: the customer completes Checkout,
the session is ``complete`` with ``payment_status: "unpaid"`` and the PaymentIntent is
``processing``; the bank's answer comes days later as ``checkout.session.async_payment_succeeded``
or ``checkout.session.async_payment_failed``. Stripe's test payment methods (and the test
account numbers behind them, routing number 110000000) decide that answer. Facts from
Stripe's ACH Direct Debit testing docs; only the payment methods below are simulated.

Here the bank's answer is decided at once (the objects' state moves when Checkout completes,
as disputes do) and the events that report it carry ``SETTLE_DELAY`` simulated seconds, so
a receiver sees ``checkout.session.completed`` (unpaid) first and the outcome later.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from simulator.objects import load_template

ROUTING_NUMBER = "110000000"
BANK_NAME = "STRIPE TEST BANK"
# Test mode settles a bank debit in minutes, not the live 4 business days; on the simulated
# clock (1000x in the harness) this is well under a second.
SETTLE_DELAY = 180.0


@dataclass(frozen=True)
class TestBankAccount:
    account_number: str
    token: str                       # the pm_usBankAccount_* test payment method
    failure_code: Optional[str] = None
    failure_message: Optional[str] = None

    @property
    def last4(self) -> str:
        return self.account_number[-4:]


BANK_ACCOUNTS: tuple[TestBankAccount, ...] = (
    TestBankAccount("000123456789", "pm_usBankAccount_success"),
    TestBankAccount("000111111113", "pm_usBankAccount_accountClosed", "account_closed",
                    "The customer's bank account has been closed."),
    TestBankAccount("000111111116", "pm_usBankAccount_noAccount", "no_account",
                    "The customer's bank account could not be located."),
    TestBankAccount("000222222227", "pm_usBankAccount_insufficientFunds", "insufficient_funds",
                    "The customer's account has insufficient funds to cover this payment."),
    TestBankAccount("000333333335", "pm_usBankAccount_debitNotAuthorized", "debit_not_authorized",
                    "The customer has notified their bank that this payment was unauthorized."),
)
BY_TOKEN: dict[str, TestBankAccount] = {a.token: a for a in BANK_ACCOUNTS}


def is_bank_token(value) -> bool:
    return isinstance(value, str) and value in BY_TOKEN


def _bank_details(account: TestBankAccount, fingerprint: str) -> dict:
    return {"account_holder_type": "individual", "account_type": "checking", "bank_name": BANK_NAME,
            "fingerprint": fingerprint, "last4": account.last4, "routing_number": ROUTING_NUMBER}


def payment_method(id: str, created: int, account: TestBankAccount, fingerprint: str, billing: dict) -> dict:
    obj = load_template("payment_method")
    del obj["card"]
    details = _bank_details(account, fingerprint)
    details.update(financial_connections_account=None, networks={"preferred": "ach", "supported": ["ach"]},
                   status_details=None)
    obj.update(id=id, created=created, type="us_bank_account", us_bank_account=details, billing_details=billing)
    return obj


def charge(id: str, created: int, intent: dict, pm: dict, mandate: str) -> dict:
    """The pending charge of a bank debit: captured, not yet paid (``status: "pending"``)."""
    obj = load_template("charge")
    details = {k: pm["us_bank_account"][k] for k in ("account_holder_type", "account_type", "bank_name",
                                                      "fingerprint", "last4", "routing_number")}
    details.update(mandate=mandate, payment_reference=None)  # basil has no expected_debit_date here
    obj.update(id=id, created=created, amount=intent["amount"], amount_captured=intent["amount"],
               currency=intent["currency"], customer=intent["customer"], description=intent["description"],
               metadata=dict(intent["metadata"]), payment_intent=intent["id"], payment_method=pm["id"],
               billing_details=pm["billing_details"], captured=True, paid=False, status="pending",
               payment_method_details={"type": "us_bank_account", "us_bank_account": details})
    obj["outcome"].update(network_status="approved_by_network", seller_message="Payment complete.",
                          type="authorized")
    return obj


def failure_error(account: TestBankAccount, charge_id: str, pm: dict) -> dict:
    """``last_payment_error`` of an intent whose bank debit failed."""
    return {"charge": charge_id, "code": account.failure_code,
            "doc_url": "https://stripe.com/docs/error-codes/%s" % account.failure_code.replace("_", "-"),
            "message": account.failure_message, "payment_method": pm, "type": "invalid_request_error"}
