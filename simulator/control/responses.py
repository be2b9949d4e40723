"""The control plane's answers as Flask responses: JSON, and errors in the control plane's
envelope (``{"error": {"message", "status", "field"}}``), both from ``simulator.httpkit``.
Shared by every ``/_sim`` blueprint (control, delivery, authentication)."""
from __future__ import annotations

from typing import Optional

from flask import Response

from simulator import httpkit


def json_response(obj, status: int = 200) -> Response:
    return Response(*httpkit.json_answer(obj, status))


def error_response(status: int, message: str, field: Optional[str] = None) -> Response:
    return Response(*httpkit.control_answer(status, message, field))
