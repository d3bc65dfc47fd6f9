from django.urls import path

from boxoffice.events import api

app_name = "events"

urlpatterns = [
    path("events/", api.EventListApi.as_view(), name="event-list"),
    path("events/<uuid:event_id>/", api.EventDetailApi.as_view(), name="event-detail"),
    path(
        "events/<uuid:event_id>/calendar.ics",
        api.EventCalendarApi.as_view(),
        name="event-calendar",
    ),
    path(
        "events/<uuid:event_id>/availability/",
        api.EventAvailabilityApi.as_view(),
        name="event-availability",
    ),
    path(
        "events/<uuid:event_id>/ticket-types/",
        api.TicketTypeListApi.as_view(),
        name="ticket-type-list",
    ),
    path(
        "events/<uuid:event_id>/ticket-types/<uuid:ticket_type_id>/",
        api.TicketTypeDetailApi.as_view(),
        name="ticket-type-detail",
    ),
    path("events/<uuid:event_id>/vouchers/", api.VoucherListApi.as_view(), name="voucher-list"),
    path(
        "events/<uuid:event_id>/vouchers/bulk/",
        api.VoucherBulkApi.as_view(),
        name="voucher-bulk",
    ),
    path("events/<uuid:event_id>/vouchers.csv", api.VoucherCsvApi.as_view(), name="voucher-csv"),
    path("events/<uuid:event_id>/audit/", api.EventAuditApi.as_view(), name="event-audit"),
    path(
        "events/<uuid:event_id>/vouchers/<uuid:voucher_id>/",
        api.VoucherDetailApi.as_view(),
        name="voucher-detail",
    ),
    path("categories/", api.CategoryListApi.as_view(), name="category-list"),
    path("categories/<uuid:category_id>/", api.CategoryDetailApi.as_view(), name="category-detail"),
]
