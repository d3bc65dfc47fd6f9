from django.urls import path

from boxoffice.notifications import api

app_name = "notifications"

urlpatterns = [
    path("events/<uuid:event_id>/notify/", api.EventNotifyApi.as_view(), name="event-notify"),
]
