from django.apps import AppConfig


class DoorConfig(AppConfig):
    name = "boxoffice.door"
    label = "door"
    verbose_name = "Door"
