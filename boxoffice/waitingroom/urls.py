from django.urls import path

from boxoffice.waitingroom import api

app_name = "waitingroom"

urlpatterns = [
    path("events/<uuid:event_id>/queue/", api.QueueJoinApi.as_view(), name="queue"),
    path("events/<uuid:event_id>/queue/stats/", api.QueueStatsApi.as_view(), name="queue-stats"),
    path(
        "events/<uuid:event_id>/queue/<str:token>/",
        api.QueueStatusApi.as_view(),
        name="queue-status",
    ),
]
