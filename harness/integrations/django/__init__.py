"""``harness.integrations.django``: the harness's fault hooks for any Django POSX.

Add ``"harness.integrations.django"`` to ``INSTALLED_APPS`` in the project's *test*
settings (and run ``migrate``). The app then

- puts ``FaultHooksMiddleware`` in front of the project's middleware (unless
  ``POSX_HARNESS["AUTO_MIDDLEWARE"]`` is False, then list it yourself, first);
- serves ``GET|POST|DELETE /_posx/faults`` with the reference receiver's JSON
  (``{"fail_next": N, "fail_status": 500, "delay_next": N, "delay_ms": 800, "crash_next": N}``),
  so ``posx-harness run`` finds the hooks the recovery scenarios need;
- applies them around the webhook view, which stays as the team wrote it;
- keeps the counters in the database (table ``posx_harness_faults``), so every gunicorn
  worker shares them;
- refuses to load when ``DEBUG`` is off, unless ``POSX_HARNESS["ALLOW_WITHOUT_DEBUG"]`` (or
  ``POSX_HARNESS_ALLOW_WITHOUT_DEBUG=1``) says a test deploy wants it.

Settings (``POSX_HARNESS`` dict, all optional): ``WEBHOOK_PATHS``, ``CRASH_AFTER_SQL``,
``CRASH_MODE``, ``DATABASE``, ``AUTO_MIDDLEWARE``, ``ALLOW_WITHOUT_DEBUG`` (see ``conf.py``).
pytest-django: ``harness.integrations.django.testing.live_target``. docs/DJANGO.md.
"""
