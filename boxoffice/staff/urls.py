from django.urls import path

from boxoffice.staff import api

app_name = "staff"

urlpatterns = [
    path("admin/users/staff/", api.StaffCreateApi.as_view(), name="staff-create"),
    path("admin/users/bulk-delete/", api.BulkDeleteApi.as_view(), name="users-bulk-delete"),
    path("health/", api.HealthApi.as_view(), name="health"),
]
