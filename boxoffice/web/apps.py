from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "boxoffice.web"
    label = "web"
    verbose_name = "Web pages"
