"""The dashboard's routes: the page, its JSON poll, and Resend.

Authentication is the control plane's: the app's guard checks ``X-Sim-Token`` on every
``/_sim`` path. A browser cannot send that header, so for dashboard paths only the token
may come once in the query string (``?token=...``, as Jupyter does) and then rides in an
HttpOnly, SameSite=Strict cookie; :func:`token_bridge` hands either to the guard as the
header it already checks. Forms carry a per-process CSRF token on top.
"""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, render_template, request, url_for

from simulator.control.responses import json_response
from simulator.dashboard import model

COOKIE = "stripe_sim_token"
PREFIX = "/_sim/dashboard"
POLL_MS = 1500


def token_bridge(prefix: str = PREFIX):
    """A before-request hook (run before the control-plane guard) for dashboard paths."""

    def bridge():
        if not request.path.startswith(prefix):
            return None
        if request.headers.get("X-Sim-Token") or request.headers.get("Authorization"):
            return None
        given = request.args.get("token") or request.cookies.get(COOKIE)
        if given:
            request.environ["HTTP_X_SIM_TOKEN"] = given
        return None

    return bridge


def create_blueprint(sim) -> Blueprint:
    bp = Blueprint("sim_dashboard", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/static")
    csrf_token = secrets.token_urlsafe(24)  # not simulated state: never seeded, never saved

    def page(status: int = 200, error: str | None = None, error_field: str | None = None):
        form = {k: request.args.get(k, "") for k in model.FILTER_FIELDS}
        try:
            filters = model.parse_filters(request.args, model.outcomes_of(sim))
        except model.FilterError as exc:
            # Show everything, say what was wrong, and keep what was typed in the form.
            status, error, error_field = 400, str(exc), exc.field
            filters = model.parse_filters({}, ())
        reveal = (request.args.get("reveal") or "").strip() or None
        view = model.build_view(sim, filters, reveal=reveal)
        live = request.args.get("live", "1") != "0"
        query = {k: v for k, v in filters.items() if v and k != "limit"}
        if filters.get("limit") not in (None, model.DEFAULT_LIMIT):
            query["limit"] = filters["limit"]
        if not live:
            query["live"] = "0"
        html = render_template(
            "dashboard.html", view=view, filters=filters, form=form, error=error, error_field=error_field,
            version=model.version(sim), poll_ms=POLL_MS, csrf=csrf_token, query=query,
            here=request.full_path.rstrip("?"), live=live,
            # Links keep the current filters; a keyword set to None drops that key.
            qs=lambda **extra: urlencode({k: v for k, v in {**query, **extra}.items() if v is not None}),
        )
        resp = Response(html, status=status, content_type="text/html; charset=utf-8")
        resp.headers["Cache-Control"] = "no-store"
        # The page must never pull anything from elsewhere, and is never framed.
        resp.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; "
            "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    @bp.get("/")
    def index():
        token = request.args.get("token")
        if token:
            # The guard accepted it: keep it in a cookie and drop it from the address bar.
            args = {k: v for k, v in request.args.items() if k != "token"}
            resp = redirect(url_for(".index") + ("?" + urlencode(args) if args else ""), 303)
            resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path=url_for(".index").rstrip("/"))
            return resp
        return page()

    @bp.get("/version.json")
    def version_json():
        resp = json_response({"version": model.version(sim)})
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @bp.post("/events/<event_id>/resend")
    def resend(event_id: str):
        given = request.form.get("csrf", "")
        if not hmac.compare_digest(given.encode(), csrf_token.encode()):
            return page(400, "the Resend form has expired or did not come from this page; reload and try again",
                        "csrf")
        home = url_for(".index")
        back = request.form.get("next") or ""
        # Only back into the dashboard, never elsewhere; a newline in it made the redirect a 500.
        if not back.startswith(home) or not back.isprintable():
            back = home
        if sim.engine is None:
            return page(400, "this simulator runs without a delivery engine, so nothing can be resent")
        with sim.backend.lock:
            known = event_id in sim.backend.events
        if not known:
            return page(404, "no event %r: it may have been reset away" % event_id, "event")
        endpoint = (request.form.get("endpoint") or "").strip() or None
        try:
            sim.engine.resend(event_id, endpoint)
        except (ValueError, LookupError) as exc:  # e.g. an unknown or disabled endpoint
            return page(400, "could not resend %s: %s" % (event_id, exc), "event")
        return redirect(back, 303)

    return bp


def register(app, sim, url_prefix: str = PREFIX) -> None:
    """Mount the dashboard on ``app`` (the one line ``create_app`` calls)."""
    app.register_blueprint(create_blueprint(sim), url_prefix=url_prefix)
    # First in line, so the control-plane guard sees the token the browser brought.
    app.before_request_funcs.setdefault(None, []).insert(0, token_bridge(url_prefix))
