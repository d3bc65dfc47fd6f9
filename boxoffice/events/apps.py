from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "boxoffice.events"
    label = "events"
    verbose_name = "Events"
