from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "boxoffice.analytics"
    label = "analytics"
    verbose_name = "Analytics"
