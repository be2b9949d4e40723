from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    name = "apps.commissions"
    label = "commissions"
