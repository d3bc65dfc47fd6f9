from django.urls import path

from boxoffice.door import api

app_name = "door"

urlpatterns = [
    path("events/<uuid:event_id>/door-staff/", api.DoorStaffListApi.as_view(), name="door-staff"),
    path(
        "events/<uuid:event_id>/door-staff/<uuid:user_id>/",
        api.DoorStaffDetailApi.as_view(),
        name="door-staff-detail",
    ),
    path("events/<uuid:event_id>/checkins/", api.CheckInApi.as_view(), name="checkins"),
    path(
        "events/<uuid:event_id>/checkins/stats/",
        api.CheckInStatsApi.as_view(),
        name="checkin-stats",
    ),
    path(
        "events/<uuid:event_id>/checkins/<uuid:ticket_id>/",
        api.CheckInUndoApi.as_view(),
        name="checkin-undo",
    ),
]
