from django.urls import path

from boxoffice.bookings import api

app_name = "bookings"

urlpatterns = [
    path("bookings/", api.BookingListApi.as_view(), name="booking-list"),
    path("bookings/<uuid:booking_id>/", api.BookingDetailApi.as_view(), name="booking-detail"),
    path(
        "bookings/<uuid:booking_id>/cancel/", api.BookingCancelApi.as_view(), name="booking-cancel"
    ),
    path(
        "bookings/<uuid:booking_id>/tickets.pdf",
        api.TicketsPdfApi.as_view(),
        name="booking-tickets-pdf",
    ),
    path(
        "bookings/<uuid:booking_id>/tickets/<uuid:ticket_id>/",
        api.TicketDetailApi.as_view(),
        name="ticket-detail",
    ),
    path(
        "bookings/<uuid:booking_id>/tickets/<uuid:ticket_id>/reissue/",
        api.TicketReissueApi.as_view(),
        name="ticket-reissue",
    ),
    path(
        "events/<uuid:event_id>/bookings/",
        api.EventBookingListApi.as_view(),
        name="event-bookings",
    ),
    path("events/<uuid:event_id>/cancel/", api.EventCancelApi.as_view(), name="event-cancel"),
    path("events/<uuid:event_id>/waitlist/", api.EventWaitlistApi.as_view(), name="event-waitlist"),
    path("waitlist/", api.MyWaitlistApi.as_view(), name="waitlist"),
    path("waitlist/<uuid:entry_id>/", api.MyWaitlistEntryApi.as_view(), name="waitlist-entry"),
]
