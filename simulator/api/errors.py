"""Stripe's errors that only the API raises (unknown URL, a bug's last-resort answer).

Every failure on ``/v1`` leaves the API as ``{"error": {...}}`` (``simulator.httpkit.stripe_error``)
with the status of its ``simulator.errors`` type. Anything else raised is a bug: it still answers in Stripe's shape
(``api_error``, 500) so a client's error handling is exercised instead of a traceback page,
and the exception is kept on the app for tests and logs to find.
"""
from __future__ import annotations

import logging
import traceback

from simulator.errors import InvalidRequestError, StripeError

log = logging.getLogger("simulator.api")

DOCS_HINT = "Please see https://stripe.com/docs or we can help at https://support.stripe.com/."


class UnrecognizedUrlError(InvalidRequestError):
    http_status = 404


def unrecognized_url(method: str, path: str) -> InvalidRequestError:
    return UnrecognizedUrlError("Unrecognized request URL (%s: %s). %s" % (method, path, DOCS_HINT))


class ApiError(StripeError):
    http_status = 500
    error_type = "api_error"


def unexpected(exc: BaseException, request_id: str) -> ApiError:
    """The last-resort answer for a bug: Stripe's api_error shape, with the request id to grep for."""
    log.error("unexpected error in request %s:\n%s", request_id,
              "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return ApiError("An unexpected error occurred in the simulator while handling request %s (%s). "
                    "This is a simulator bug." % (request_id, type(exc).__name__))
