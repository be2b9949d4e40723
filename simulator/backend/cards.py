"""Stripe's test cards as data: what each number (and its ``pm_card_*`` id) does.

Every decline keeps its own error code, decline code, message, advice code and network
decline code, as real test mode reports them: a receiver that treats all declines alike is
exactly what these cards expose.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

DOC_URL = "https://stripe.com/docs/error-codes/%s"


@dataclass(frozen=True)
class Decline:
    code: str                      # error.code and charge.failure_code
    decline_code: str
    message: str
    advice_code: Optional[str]
    network_decline_code: Optional[str]
    outcome_type: str = "issuer_declined"
    outcome_reason: Optional[str] = None     # defaults to decline_code
    network_status: str = "declined_by_network"
    seller_message: Optional[str] = None
    risk_level: str = "normal"
    param: Optional[str] = None
    cvc_check: str = "pass"


@dataclass(frozen=True)
class DisputeSpec:
    reason: str
    status: str
    case_type: str = "chargeback"
    network_reason_code: str = "10.4"


@dataclass(frozen=True)
class TestCard:
    number: str
    tokens: tuple[str, ...]
    brand: str = "visa"
    funding: str = "credit"
    country: str = "US"
    decline: Optional[Decline] = None
    dispute: Optional[DisputeSpec] = None
    # REQUIRED: every confirm stops at requires_action until the cardholder authenticates;
    # ``decline`` then applies to the charge attempted after authentication.
    authentication: Optional[str] = None
    notes: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def last4(self) -> str:
        return self.number[-4:]


GENERIC = "The bank did not return any further details with this decline."

REQUIRED = "required"      # 3-D Secure: authentication needed before any charge
OPTIONAL = "optional"      # 3-D Secure supported, not asked for: a plain success


def _bank_said(code: str) -> str:
    return "The bank returned the decline code `%s`." % code


# Shared by the plain decline cards and their "declined after authentication" twins.
GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.",
                          "try_again_later", "01", seller_message=GENERIC)
INSUFFICIENT_FUNDS = Decline("card_declined", "insufficient_funds", "Your card has insufficient funds.",
                             "try_again_later", "51", seller_message=_bank_said("insufficient_funds"))


CARDS: tuple[TestCard, ...] = (
    TestCard("4242424242424242", ("pm_card_visa", "tok_visa")),
    TestCard("4000056655665556", ("pm_card_visa_debit", "tok_visa_debit"), funding="debit"),
    TestCard("5555555555554444", ("pm_card_mastercard", "tok_mastercard"), brand="mastercard"),
    TestCard("378282246310005", ("pm_card_amex", "tok_amex"), brand="amex"),
    TestCard("6011111111111117", ("pm_card_discover", "tok_discover"), brand="discover"),
    TestCard("4000000000000002", ("pm_card_chargeDeclined", "tok_chargeDeclined"), decline=GENERIC_DECLINE),
    TestCard("4000000000009995", ("pm_card_chargeDeclinedInsufficientFunds",
                                  "tok_chargeDeclinedInsufficientFunds"), decline=INSUFFICIENT_FUNDS),
    TestCard("4000000000009987", ("pm_card_chargeDeclinedLostCard", "tok_chargeDeclinedLostCard"),
             decline=Decline("card_declined", "lost_card", "Your card was declined.",
                             "do_not_try_again", "41", seller_message=_bank_said("lost_card"))),
    TestCard("4000000000009979", ("pm_card_chargeDeclinedStolenCard", "tok_chargeDeclinedStolenCard"),
             decline=Decline("card_declined", "stolen_card", "Your card was declined.",
                             "do_not_try_again", "43", seller_message=_bank_said("stolen_card"))),
    TestCard("4000000000000069", ("pm_card_chargeDeclinedExpiredCard", "tok_chargeDeclinedExpiredCard"),
             decline=Decline("expired_card", "expired_card", "Your card has expired.",
                             "confirm_card_data", "54", seller_message=_bank_said("expired_card"),
                             param="exp_month")),
    TestCard("4000000000000127", ("pm_card_chargeDeclinedIncorrectCvc", "tok_chargeDeclinedIncorrectCvc"),
             decline=Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.",
                             "confirm_card_data", "N7", seller_message=_bank_said("incorrect_cvc"),
                             param="cvc", cvc_check="fail")),
    TestCard("4000000000000119", ("pm_card_chargeDeclinedProcessingError",
                                  "tok_chargeDeclinedProcessingError"),
             decline=Decline("processing_error", "processing_error",
                             "An error occurred while processing your card. Try again in a little bit.",
                             "try_again_later", None, seller_message=_bank_said("processing_error"))),
    TestCard("4100000000000019", ("pm_card_radarBlock", "tok_radarBlock"),
             decline=Decline("card_declined", "fraudulent", "Your card was declined.",
                             "do_not_try_again", None, outcome_type="blocked",
                             outcome_reason="highest_risk_level", network_status="not_sent_to_network",
                             seller_message="Stripe blocked this payment as too risky.",
                             risk_level="highest")),
    TestCard("4000000000000259", ("pm_card_createDispute", "tok_createDispute"),
             dispute=DisputeSpec("fraudulent", "needs_response")),
    TestCard("4000000000002685", ("pm_card_createDisputeProductNotReceived",
                                  "tok_createDisputeProductNotReceived"),
             dispute=DisputeSpec("product_not_received", "needs_response", network_reason_code="13.1")),
    TestCard("4000000000001976", ("pm_card_createDisputeInquiry", "tok_createDisputeInquiry"),
             dispute=DisputeSpec("fraudulent", "warning_needs_response", case_type="inquiry")),
    # Supports 3-D Secure without asking for it: a plain success in one confirm.
    TestCard("4000000000003055", ("pm_card_threeDSecureOptional",), authentication=OPTIONAL),
)

# 3-D Secure cards that need the cardholder, kept apart from CARDS: those finish in one confirm, these stop at
# requires_action (``decline`` is what the charge does after the cardholder authenticates).
# The digits after 4000 00 are the issuing country's ISO numeric code.
AUTHENTICATION_CARDS: tuple[TestCard, ...] = (
    TestCard("4000002760003184", ("pm_card_authenticationRequired",), country="DE", authentication=REQUIRED),
    # Needs authentication on-session (and after setup, not off-session); every confirm
    # here is on-session, so always.
    TestCard("4000002500003155", ("pm_card_authenticationRequiredOnSetup",), country="FR",
             authentication=REQUIRED),
    TestCard("4000000000003220", ("pm_card_threeDSecure2Required",), authentication=REQUIRED),
    TestCard("4000008260003178", ("pm_card_authenticationRequiredChargeDeclinedInsufficientFunds",),
             country="GB", authentication=REQUIRED, decline=INSUFFICIENT_FUNDS),
    TestCard("4000008400001629", ("pm_card_threeDSecureRequiredChargeDeclined",),
             authentication=REQUIRED, decline=GENERIC_DECLINE),
)

ALL_CARDS: tuple[TestCard, ...] = CARDS + AUTHENTICATION_CARDS
BY_NUMBER: dict[str, TestCard] = {card.number: card for card in ALL_CARDS}
BY_TOKEN: dict[str, TestCard] = {token: card for card in ALL_CARDS for token in card.tokens}

# Any other number, valid by Luhn, is a "live" card used in test mode: Stripe declines it.
LIVE_CARD_DECLINE = Decline(
    "card_declined", "test_mode_live_card",
    "Your card was declined. Your request was in test mode, but used a non test (live) card. "
    "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
    None, None, outcome_type="invalid", network_status="not_sent_to_network",
    seller_message="This charge request was in test mode, but did not use a Stripe test card number.")

BRAND_PREFIXES = (("4", "visa"), ("5", "mastercard"), ("2", "mastercard"), ("34", "amex"),
                  ("37", "amex"), ("6", "discover"))


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def brand_of(number: str) -> str:
    for prefix, brand in BRAND_PREFIXES:
        if number.startswith(prefix):
            return brand
    return "unknown"


def card_for_number(number: str) -> Optional[TestCard]:
    """The test card for a raw number, a synthetic "live card" entry, or None if invalid."""
    number = number.replace(" ", "")
    card = BY_NUMBER.get(number)
    if card is not None:
        return card
    if not luhn_ok(number):
        return None
    return TestCard(number, (), brand=brand_of(number), decline=LIVE_CARD_DECLINE)
