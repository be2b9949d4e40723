from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class PosxHarnessConfig(AppConfig):
    name = "harness.integrations.django"
    label = "posx_harness"
    verbose_name = "POSX harness fault hooks (test settings only)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        from . import conf

        if not settings.DEBUG and not conf.allowed_without_debug():
            # Hooks that make the webhook fail or the worker die must never reach production
            # by a settings mix-up: refuse, loudly, unless a test deploy says it wants them.
            raise ImproperlyConfigured(
                "harness.integrations.django (the POSX fault hooks) refuses to load with DEBUG off. "
                "Add it to your test settings only; for a test deploy served with DEBUG off set "
                "POSX_HARNESS = {'ALLOW_WITHOUT_DEBUG': True} there (or %s=1)." % conf.ENV_ALLOW)
        conf.crash_pattern()  # a bad pattern fails at start, not at the first crash
        if conf.get("AUTO_MIDDLEWARE") and conf.MIDDLEWARE_PATH not in settings.MIDDLEWARE:
            # First, so an injected failure or delay wraps everything the project's own
            # middleware does, and an injected crash is caught after every layer has seen it.
            settings.MIDDLEWARE = [conf.MIDDLEWARE_PATH] + list(settings.MIDDLEWARE)
