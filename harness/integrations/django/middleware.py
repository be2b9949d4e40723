"""``FaultHooksMiddleware``: the reference receiver's fault hooks around any Django webhook view.

- ``/_posx/faults`` (GET state, POST arm, DELETE clear), answered here before URL routing.
- On a POST to a webhook path it claims what this call suffers (see ``faults.claim``):
  ``fail``: answer ``fail_status`` without calling the view; ``delay``: call the view, then
  wait ``delay_ms`` before answering (the work is done, the answer comes late, as with a
  timeout); ``crash``: call the view and die right after its first SQL statement matching
  ``CRASH_AFTER_SQL`` (by default the first UPDATE: the order's), before its transaction
  commits. Nothing in the view changes: the crash point is a database execute wrapper.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import time

from django.db import connections
from django.http import JsonResponse

from . import conf, faults

log = logging.getLogger("posx_harness")

FAULTS_PATHS = ("/_posx/faults", "/_posx/faults/")
# Not 3 or 4: gunicorn reads those as boot errors and stops the whole server.
CRASH_EXIT_CODE = 75


class InjectedCrash(BaseException):
    """Aborts the request like a dying process would (raise mode). A BaseException, so the
    view's own ``except Exception`` cannot swallow it; its transaction rolls back."""


class FaultHooksMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.webhook_paths = conf.webhook_paths()
        self.crash_sql = conf.crash_pattern()
        self.crash_mode = conf.get("CRASH_MODE")

    def __call__(self, request):
        path = request.path_info
        if path in FAULTS_PATHS:
            return self.faults_api(request)
        if request.method != "POST" or path not in self.webhook_paths:
            return self.get_response(request)
        claimed = faults.claim()
        if claimed.fail_status:
            log.warning("Injected fault: answering %d", claimed.fail_status)
            return JsonResponse({"error": "Injected fault"}, status=claimed.fail_status)
        if claimed.crash:
            try:
                response = self._with_crash(request)
            except InjectedCrash:
                return JsonResponse({"error": "Injected crash"}, status=500)
        else:
            response = self.get_response(request)
        if claimed.delay_ms:
            time.sleep(claimed.delay_ms / 1000.0)  # the injected slowness itself, not a wait for a condition
        return response

    # -- crash ---------------------------------------------------------------------------
    def _with_crash(self, request):
        mode = self.crash_mode
        if mode == "auto":
            mode = "exit" if request.META.get("SERVER_SOFTWARE", "").startswith("gunicorn") else "raise"
        fired = []

        def wrapper(execute, sql, params, many, context):
            result = execute(sql, params, many, context)
            if not fired and self.crash_sql.search(sql):
                fired.append(sql)
                self._crash(mode, "after %s" % sql.split(" SET ")[0][:80])
            return result

        with contextlib.ExitStack() as stack:
            for conn in connections.all():
                stack.enter_context(conn.execute_wrapper(wrapper))
            response = self.get_response(request)
        if not fired:  # armed, but the call never reached the statement: die before answering
            self._crash(mode, "before answering (no statement matched %r)" % self.crash_sql.pattern)
        return response

    @staticmethod
    def _crash(mode: str, where: str) -> None:
        log.error("Injected crash: process %d dies mid-processing, %s", os.getpid(), where)
        if mode == "exit":
            for handler in logging.getLogger().handlers + log.handlers:
                handler.flush()
            os._exit(CRASH_EXIT_CODE)
        raise InjectedCrash(where)

    # -- /_posx/faults ---------------------------------------------------------------------
    def faults_api(self, request):
        if request.method == "GET":
            return JsonResponse(faults.state())
        if request.method == "DELETE":
            return JsonResponse(faults.clear())
        if request.method != "POST":
            return JsonResponse({"error": "Method %s not allowed on /_posx/faults (GET, POST, DELETE)" % request.method},
                                status=405)
        try:
            spec = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return JsonResponse({"error": "Invalid JSON body: %s" % exc}, status=400)
        try:
            return JsonResponse(faults.arm(spec))
        except ValueError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
