"""The control plane's answers as Flask responses: JSON, and errors in the control plane's
envelope (``{"error": {"message", "status", "field"}}``), both from ``simulator.httpkit``.
Shared by every ``/_sim`` blueprint (control, delivery, authentication)."""
from __future__ import annotations

from typing import Optional

from flask import Response

from simulator import httpkit


def json_response(obj, status: int = 200) -> Response:
    # default=str: a value with no JSON form (a stray object in a status) is shown, not a 500.
    return Response(httpkit.dumps(obj, default=str), status=status, content_type=httpkit.JSON_TYPE)


def error_response(status: int, message: str, field: Optional[str] = None) -> Response:
    return json_response(httpkit.control_error(status, message, field), status)
