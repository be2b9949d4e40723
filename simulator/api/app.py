"""The Flask app: Stripe's ``/v1`` API over a Simulator, plus the ``/_sim`` control plane.

One view answers every ``/v1`` request: authenticate, match the route table, decode the
bracket form, honour ``Idempotency-Key``, call the handler, expand, serialise. Every
failure is rendered by ``_error_response`` in Stripe's shape.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from simulator.api import auth, errors, forms
from simulator.api.idempotency import StoredResponse
from simulator.api.routes import Router
from simulator.errors import InvalidRequestError, PayloadTooLargeError, StateError, StripeError

MAX_BODY_BYTES = 1024 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
V1_METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]

# Failures that happen before an endpoint runs; Stripe does not save them under an
# idempotency key (see simulator.api.idempotency).
_NOT_STORED = (InvalidRequestError,)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _is_stored(exc: StripeError) -> bool:
    if isinstance(exc, StateError):
        return True  # the endpoint ran and found the object in the wrong state
    return not isinstance(exc, _NOT_STORED)


class ApiApp:
    """The request pipeline, kept apart from Flask's plumbing so it reads top to bottom."""

    def __init__(self, sim, router: Optional[Router] = None):
        self.sim = sim
        self.router = router or Router()
        # Unexpected exceptions (bugs) are kept here so tests can assert there were none.
        self.unexpected: list[BaseException] = []

    def handle(self) -> Response:
        sim = self.sim
        request_id = sim.new_request_id()
        headers = request.headers
        version = headers.get("Stripe-Version") or sim.api_version
        api_key = None
        owned_key = None  # an idempotency key this request must finish or abandon
        stored = False
        extra_headers = {}
        try:
            api_key = auth.api_key_from(headers.get("Authorization"))
            method = request.method
            path = request.path
            matched = self.router.match(method, path)
            if matched is None:
                raise errors.unrecognized_url(method, path)
            route, object_id = matched
            params = self._params(method)
            expand = _take_expand(params)
            request_info = {"id": request_id, "idempotency_key": None}
            if method == "POST":
                idem_key = headers.get("Idempotency-Key")
                if idem_key is not None:
                    idem_key = idem_key.strip()
                    if not idem_key:
                        raise InvalidRequestError("Idempotency-Key must not be empty.", param="Idempotency-Key")
                    request_info["idempotency_key"] = idem_key
                    fingerprint = "%s %s %s" % (method, path, json.dumps([params, expand], sort_keys=True))
                    replay = sim.idempotency.begin(api_key, idem_key, fingerprint)
                    if replay is None:
                        owned_key = idem_key
                    else:
                        return self._response(replay.status, replay.body, request_id, version, {
                            "Idempotent-Replayed": "true"})
            result = route.handler(sim.backend, object_id, params, request_info)
            if expand:
                result = self._expand(result, expand)
            body = _dumps(result)
            status = 200
        except StripeError as exc:
            status, body = exc.http_status, _dumps(errors.error_body(exc, request_id))
            stored = _is_stored(exc)
        except Exception as exc:  # a bug: still Stripe's shape, never a traceback page
            self.unexpected.append(exc)
            err = errors.unexpected(exc, request_id)
            status, body = err.http_status, _dumps(errors.error_body(err, request_id))
            stored = True
        else:
            stored = True
        if owned_key is not None:
            if stored:
                sim.idempotency.finish(api_key, owned_key, StoredResponse(status, body))
            else:
                sim.idempotency.abandon(api_key, owned_key)
        return self._response(status, body, request_id, version, extra_headers)

    @staticmethod
    def _response(status: int, body: bytes, request_id: str, version: str, extra: dict) -> Response:
        resp = Response(body, status=status, content_type="application/json")
        h = resp.headers
        h["Request-Id"] = request_id
        h["Stripe-Version"] = version
        h["Cache-Control"] = "no-cache, no-store"
        for k, v in extra.items():
            h[k] = v
        return resp

    def _params(self, method: str) -> dict:
        query = request.environ.get("QUERY_STRING", "")
        pairs = forms.split_query(query, "query string") if query else []
        if method in ("POST", "DELETE"):
            body = self._body()
            if body:
                pairs.extend(forms.split_query(body, "request body"))
        return forms.decode_pairs(pairs)

    @staticmethod
    def _body() -> bytes:
        length = request.content_length
        if length is not None and length > MAX_BODY_BYTES:
            raise PayloadTooLargeError("Request body is %d bytes; the simulator accepts at most %d."
                                       % (length, MAX_BODY_BYTES))
        body = request.stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLargeError("Request body is over %d bytes." % MAX_BODY_BYTES)
        if not body:
            return body
        ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype and ctype != FORM_TYPE:
            raise InvalidRequestError(
                "Invalid request: the body is %s, but Stripe's API takes form-encoded parameters "
                "(Content-Type: %s), e.g. amount=1000&currency=usd." % (ctype, FORM_TYPE))
        if body[:1] in (b"{", b"["):
            raise InvalidRequestError(
                "Invalid request: the body looks like JSON, but Stripe's API takes form-encoded parameters "
                "(Content-Type: %s), e.g. amount=1000&currency=usd." % FORM_TYPE)
        return body

    def _expand(self, result: Any, paths: list[str]) -> Any:
        backend = self.sim.backend
        if isinstance(result, dict) and result.get("object") == "list" and isinstance(result.get("data"), list):
            # On a list, ``data.x`` expands ``x`` on every item.
            item_paths = [p[5:] for p in paths if p.startswith("data.")]
            other = [p for p in paths if not p.startswith("data.")]
            if other:
                raise InvalidRequestError("This property cannot be expanded (%s). On a list, expand its "
                                          "items with data.<property>." % other[0], param="expand")
            if item_paths:
                result["data"] = [backend.expand(item, item_paths) for item in result["data"]]
            return result
        return backend.expand(result, paths)


def _take_expand(params: dict) -> list[str]:
    if "expand" not in params:
        return []
    expand = params.pop("expand")
    if isinstance(expand, str):
        raise InvalidRequestError("Invalid array: expand must be an array of strings, e.g. expand[]=latest_charge.",
                                  param="expand")
    if isinstance(expand, dict):
        raise InvalidRequestError("Invalid array: expand must be an array of strings, not a hash.", param="expand")
    for i, item in enumerate(expand):
        if not isinstance(item, str) or not item:
            raise InvalidRequestError("Invalid expand[%d]: each entry must be a non-empty property path." % i,
                                      param="expand[%d]" % i)
    return expand


def _sim_error(status: int, message: str) -> Response:
    return Response(_dumps({"error": {"message": message, "status": status}}), status=status,
                    content_type="application/json")


def create_app(sim, *, control_token: Optional[str] = None, require_control_token: bool = False) -> Flask:
    """The WSGI app over ``sim``.

    The control plane needs ``control_token`` (as ``Authorization: Bearer <token>`` or
    ``X-Sim-Token``) when one is set; ``require_control_token`` (a non-loopback bind)
    refuses it entirely without one.
    """
    from simulator.control import create_blueprint
    from simulator.dashboard import register as register_dashboard

    app = Flask("simulator")
    app.config["MAX_CONTENT_LENGTH"] = None
    api = ApiApp(sim)
    app.extensions["stripe_sim"] = api
    app.add_url_rule("/v1", "v1_root", api.handle, methods=V1_METHODS, provide_automatic_options=False)
    app.add_url_rule("/v1/<path:_path>", "v1", lambda _path: api.handle(), methods=V1_METHODS,
                     provide_automatic_options=False)

    app.register_blueprint(create_blueprint(sim), url_prefix="/_sim")
    engine = getattr(sim, "engine", None)
    if engine is not None:
        blueprint = getattr(engine, "blueprint", None)
        if callable(blueprint) and not hasattr(blueprint, "register"):
            blueprint = blueprint()
        if blueprint is not None:
            app.register_blueprint(blueprint, url_prefix="/_sim")
    register_dashboard(app, sim)  # /_sim/dashboard: endpoints, events, attempts, Resend

    @app.before_request
    def _guard_control_plane():
        if not request.path.startswith("/_sim"):
            return None
        if control_token is None:
            if require_control_token:
                return _sim_error(403, "The control plane is disabled: the simulator listens on a non-loopback "
                                       "address without a control token. Restart it with --control-token "
                                       "(or STRIPE_SIM_CONTROL_TOKEN).")
            return None
        given = request.headers.get("X-Sim-Token")
        authz = request.headers.get("Authorization", "")
        if given is None and authz.lower().startswith("bearer "):
            given = authz[7:].strip()
        import hmac

        if given is None or not hmac.compare_digest(given.encode(), control_token.encode()):
            return _sim_error(401, "The control plane needs the control token (Authorization: Bearer <token> "
                                   "or X-Sim-Token: <token>).")
        return None

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith("/_sim"):
            return _sim_error(exc.code or 500, "%s: %s %s" % (exc.name, request.method, request.path))
        err = errors.unrecognized_url(request.method, request.path) if exc.code in (404, 405) else \
            InvalidRequestError("Invalid request: %s." % exc.description)
        status = 404 if exc.code in (404, 405) else (exc.code or 400)
        return api._response(status, _dumps(errors.error_body(err, "req_none")), "req_none", sim.api_version, {})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        api.unexpected.append(exc)
        request_id = "req_none"
        err = errors.unexpected(exc, request_id)
        if request.path.startswith("/_sim"):
            return _sim_error(500, err.message)
        return api._response(500, _dumps(errors.error_body(err, request_id)), request_id, sim.api_version, {})

    return app


__all__ = ["create_app", "ApiApp"]
