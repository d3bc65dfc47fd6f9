from django.urls import path

from boxoffice.analytics import api

app_name = "analytics"

urlpatterns = [
    path(
        "events/<uuid:event_id>/analytics/",
        api.EventAnalyticsApi.as_view(),
        name="event-analytics",
    ),
    path("admin/analytics/", api.PlatformAnalyticsApi.as_view(), name="platform-analytics"),
]
