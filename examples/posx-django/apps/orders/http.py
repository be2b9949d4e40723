"""Small JSON helpers shared by the views: errors as ``{"error": ...}``, never an HTML page."""
from __future__ import annotations

import functools
import hmac
import json

from django.conf import settings
from django.http import JsonResponse


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def api_view(*methods):
    """Allow ``methods`` (405 JSON otherwise) and turn ``ApiError`` into its JSON answer."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in methods:
                resp = error(405, "Method %s not allowed on %s (use %s)" % (request.method, request.path, ", ".join(methods)))
                resp["Allow"] = ", ".join(methods)
                return resp
            try:
                return view(request, *args, **kwargs)
            except ApiError as exc:
                return error(exc.status, exc.message)
        return wrapped
    return decorate


def authenticate(request) -> None:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    given = token.strip().encode()
    # compare_digest against every token: a set lookup's time would hint at how close a guess is.
    if scheme.lower() != "bearer" or not sum(hmac.compare_digest(given, t.encode()) for t in settings.POSX_API_TOKENS):
        raise ApiError(401, "Missing or invalid API token (Authorization: Bearer <token>)")


def json_body(request):
    try:
        return json.loads(request.body) if request.body else None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "Invalid JSON body: %s" % exc)
