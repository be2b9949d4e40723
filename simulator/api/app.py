"""The WSGI app: Stripe's ``/v1`` API over a Simulator, plus the ``/_sim`` control plane.

``/v1`` requests are answered by ``ApiApp`` straight from the WSGI environ (it sits in
front of Flask as ``app.wsgi_app``): authenticate, match the route table, decode the
bracket form, honour ``Idempotency-Key``, call the handler, expand, serialise. That path
is the hot one of every benchmark, and Flask's request/response machinery was a fifth of
its cost. Everything else (control plane, delivery blueprint) is ordinary Flask.
Every failure on ``/v1`` is rendered in one place in Stripe's shape.
"""
from __future__ import annotations

import hmac
from typing import Any, Callable, Optional

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from simulator import httpkit
from simulator.api import auth, errors, forms
from simulator.api.idempotency import StoredResponse
from simulator.api.routes import Router, call_action
from simulator.backend.expand import check_paths as check_expand_paths
from simulator.errors import InvalidRequestError, PayloadTooLargeError, StateError, StripeError

MAX_BODY_BYTES = httpkit.MAX_BODY
FORM_TYPE = "application/x-www-form-urlencoded"

# Failures that happen before an endpoint runs; Stripe does not save them under an
# idempotency key (see simulator.api.idempotency).
_NOT_STORED = (InvalidRequestError,)

_dumps = httpkit.dumps


def _fingerprint(method: str, path: str, params: dict, expand: list) -> bytes:
    """What an idempotency key is bound to: the method, the path and the parameters."""
    return httpkit.dumps([method, path, params, expand], sort_keys=True)


def _is_stored(exc: StripeError) -> bool:
    if isinstance(exc, StateError):
        return True  # the endpoint ran and found the object in the wrong state
    return not isinstance(exc, _NOT_STORED)


def _base_url(environ: dict) -> str:
    """scheme://host[:port] the client used (its Host header), or the server's own name."""
    host = environ.get("HTTP_HOST") or "%s:%s" % (environ.get("SERVER_NAME", "127.0.0.1"),
                                                   environ.get("SERVER_PORT", "80"))
    return "%s://%s" % (environ.get("wsgi.url_scheme", "http"), host)


def _wsgi_path(environ: dict) -> str:
    # PEP 3333 hands the path over as latin-1 characters of the raw bytes.
    raw = environ.get("PATH_INFO", "") or ""
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


class ApiApp:
    """The ``/v1`` request pipeline as a WSGI middleware in front of Flask (``fallback``)."""

    def __init__(self, sim, fallback: Callable, router: Optional[Router] = None):
        self.sim = sim
        self.fallback = fallback
        self.router = router or Router()
        # Unexpected exceptions (bugs) are kept here so tests and the server can report them.
        self.unexpected: list[BaseException] = []
        self.requests = getattr(sim, "request_log", None)

    def __call__(self, environ: dict, start_response):
        path = _wsgi_path(environ)
        if path != "/v1" and not path.startswith("/v1/"):
            return self.fallback(environ, start_response)
        status, body, headers = self.handle(environ, path)
        if self.requests is not None:  # `stripe-sim logs tail` (simulator/control/request_log.py)
            self.requests.record_wsgi(environ, path, status, headers)
        headers.append(("Content-Length", str(len(body))))
        start_response(httpkit.status_line(status), headers)
        return [body]

    def handle(self, environ: dict, path: str) -> tuple[int, bytes, list]:
        sim = self.sim
        request_id = sim.new_request_id()
        version = environ.get("HTTP_STRIPE_VERSION") or sim.api_version
        api_key = None
        owned_key = None  # an idempotency key this request must finish or abandon
        extra: list = []
        try:
            api_key = auth.api_key_from(environ.get("HTTP_AUTHORIZATION"))
            method = environ.get("REQUEST_METHOD", "GET")
            matched = self.router.match(method, path)
            if matched is None:
                raise errors.unrecognized_url(method, path)
            route, ids = matched
            params = self._params(environ, method)
            expand = _take_expand(params)
            if expand:
                # Checked against what the operation answers before anything runs.
                check_expand_paths(route.op, expand)
            # base_url: where this server was reached, for URLs that point back at it (3-D Secure).
            request_info = {"id": request_id, "idempotency_key": None, "base_url": _base_url(environ)}
            if method == "POST":
                idem_key = environ.get("HTTP_IDEMPOTENCY_KEY")
                if idem_key is not None:
                    idem_key = idem_key.strip()
                    if not idem_key:
                        raise InvalidRequestError("Idempotency-Key must not be empty.", param="Idempotency-Key")
                    request_info["idempotency_key"] = idem_key
                    fingerprint = _fingerprint(method, path, params, expand)
                    replay = sim.idempotency.begin(api_key, idem_key, fingerprint)
                    if replay is not None:
                        return replay.status, replay.body, self._headers(request_id, version, [
                            ("Idempotency-Key", idem_key), ("Original-Request", replay.request_id),
                            ("Idempotent-Replayed", "true")])
                    owned_key = idem_key
                    extra = [("Idempotency-Key", idem_key), ("Original-Request", request_id)]
            result = call_action(sim.backend, route.op, ids, params, request_info)
            if expand:
                result = self._expand(result, expand)
            status, body, stored = 200, _dumps(result), True
        except StripeError as exc:
            status, body = exc.http_status, _dumps(httpkit.stripe_error(exc, request_id))
            stored = _is_stored(exc)
        except Exception as exc:  # a bug: still Stripe's shape, never a traceback page
            self.unexpected.append(exc)
            err = errors.unexpected(exc, request_id)
            status, body, stored = err.http_status, _dumps(httpkit.stripe_error(err, request_id)), True
        if owned_key is not None:
            if stored:
                sim.idempotency.finish(api_key, owned_key, StoredResponse(status, body, request_id))
            else:
                sim.idempotency.abandon(api_key, owned_key)
        return status, body, self._headers(request_id, version, extra)

    @staticmethod
    def _headers(request_id: str, version: str, extra: list) -> list:
        return [("Content-Type", httpkit.JSON_TYPE), ("Request-Id", request_id), ("Stripe-Version", version),
                ("Cache-Control", "no-cache, no-store")] + extra

    def _params(self, environ: dict, method: str) -> dict:
        query = environ.get("QUERY_STRING", "")
        pairs = forms.split_query(query, "query string") if query else []
        if method in ("POST", "DELETE"):
            body = self._body(environ)
            if body:
                pairs.extend(forms.split_query(body, "request body"))
        return forms.decode_pairs(pairs)

    @staticmethod
    def _body(environ: dict) -> bytes:
        try:
            body = httpkit.read_body(environ, MAX_BODY_BYTES)
        except httpkit.HttpError as exc:
            raise (PayloadTooLargeError if exc.status == 413 else InvalidRequestError)(exc.message) from None
        if not body:
            return body
        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
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
        if (isinstance(result, dict) and result.get("object") in ("list", "search_result")
                and isinstance(result.get("data"), list)):
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
    if not isinstance(expand, list):
        raise InvalidRequestError("Invalid array: expand must be an array of strings, e.g. expand[]=latest_charge.",
                                  param="expand")
    for i, item in enumerate(expand):
        if not isinstance(item, str) or not item:
            raise InvalidRequestError("Invalid expand[%d]: each entry must be a non-empty property path." % i,
                                      param="expand[%d]" % i)
    return expand


def _sim_error(status: int, message: str) -> Response:
    return Response(_dumps(httpkit.control_error(status, message)), status=status, content_type=httpkit.JSON_TYPE)


def _stripe_error(status: int, err: StripeError, version: str) -> Response:
    resp = Response(_dumps(httpkit.stripe_error(err, "req_none")), status=status, content_type=httpkit.JSON_TYPE)
    resp.headers["Stripe-Version"] = version
    return resp


def create_app(sim, *, control_token: Optional[str] = None, require_control_token: bool = False) -> Flask:
    """The WSGI app over ``sim``.

    The control plane needs ``control_token`` (as ``Authorization: Bearer <token>`` or
    ``X-Sim-Token``) when one is set; ``require_control_token`` (a non-loopback bind)
    refuses it entirely without one.
    """
    from simulator.control import create_blueprint
    from simulator.control.cli_routes import register as register_cli_routes
    from simulator.dashboard import register as register_dashboard

    app = Flask("simulator")
    api = ApiApp(sim, app.wsgi_app)
    app.wsgi_app = api
    app.extensions["stripe_sim"] = api

    app.register_blueprint(create_blueprint(sim), url_prefix="/_sim")
    engine = getattr(sim, "engine", None)
    if engine is not None:
        blueprint = getattr(engine, "blueprint", None)
        if callable(blueprint) and not hasattr(blueprint, "register"):
            blueprint = blueprint()
        if blueprint is not None:
            app.register_blueprint(blueprint, url_prefix="/_sim")
    register_dashboard(app, sim)  # /_sim/dashboard: endpoints, events, attempts, Resend (issue 7)
    register_cli_routes(app, sim)  # /_sim/listen, /_sim/requests, /_sim/endpoints/<id>/stats (issue 17)

    @app.before_request
    def _guard_control_plane():
        if not request.path.startswith("/_sim"):
            return None
        length = request.content_length
        if length is not None and length > MAX_BODY_BYTES:
            # The control plane reads bodies whole (get_data); without this an endless one would be buffered.
            try:
                httpkit.check_length(str(length), MAX_BODY_BYTES)
            except httpkit.HttpError as exc:
                return _sim_error(exc.status, exc.message)
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
        if given is None or not hmac.compare_digest(given.encode(), control_token.encode()):
            return _sim_error(401, "The control plane needs the control token (Authorization: Bearer <token> "
                                   "or X-Sim-Token: <token>).")
        return None

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith("/_sim"):
            return _sim_error(exc.code or 500, "%s: %s %s" % (exc.name, request.method, request.path))
        if exc.code in (404, 405):
            return _stripe_error(404, errors.unrecognized_url(request.method, request.path), sim.api_version)
        return _stripe_error(exc.code or 400, InvalidRequestError("Invalid request: %s" % exc.description),
                             sim.api_version)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        api.unexpected.append(exc)
        err = errors.unexpected(exc, "req_none")
        if request.path.startswith("/_sim"):
            return _sim_error(500, err.message)
        return _stripe_error(500, err, sim.api_version)

    return app


__all__ = ["create_app", "ApiApp"]
