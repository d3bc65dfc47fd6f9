from django.urls import path

from boxoffice.audit import api

app_name = "audit"

urlpatterns = [
    path("admin/audit/", api.StaffAuditListApi.as_view(), name="staff-audit"),
]
