from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "boxoffice.bookings"
    label = "bookings"
    verbose_name = "Bookings"
