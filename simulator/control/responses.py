"""The control plane's answers: JSON, and errors as ``{"error": {"message", "status", "field"}}``."""
from __future__ import annotations

import json
from typing import Optional

from flask import Response


def json_response(obj, status: int = 200) -> Response:
    return Response(json.dumps(obj), status=status, content_type="application/json")


def error_response(status: int, message: str, field: Optional[str] = None) -> Response:
    body = {"error": {"message": message, "status": status}}
    if field:
        body["error"]["field"] = field
    return json_response(body, status)
