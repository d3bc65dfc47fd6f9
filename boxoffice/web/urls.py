from django.urls import path

from boxoffice.web.views import account, bookings, console, door, queue, storefront

app_name = "web"

urlpatterns = [
    path("", storefront.home, name="home"),
    path("events/<uuid:event_id>/", storefront.event_detail, name="event"),
    path(
        "events/<uuid:event_id>/availability/",
        storefront.event_availability,
        name="event-availability",
    ),
    path("events/<uuid:event_id>/book/", storefront.event_book, name="event-book"),
    path("events/<uuid:event_id>/queue/", queue.event_queue, name="event-queue"),
    path(
        "events/<uuid:event_id>/queue/status/",
        queue.event_queue_status,
        name="event-queue-status",
    ),
    path(
        "events/<uuid:event_id>/waitlist/<uuid:ticket_type_id>/",
        storefront.event_waitlist_join,
        name="event-waitlist",
    ),
    path("waitlist/<uuid:entry_id>/leave/", bookings.waitlist_leave_view, name="waitlist-leave"),
    path("bookings/", bookings.booking_list, name="bookings"),
    path("bookings/<uuid:booking_id>/", bookings.booking_detail, name="booking"),
    path("bookings/<uuid:booking_id>/status/", bookings.booking_status, name="booking-status"),
    path("bookings/<uuid:booking_id>/pay/", bookings.booking_pay, name="booking-pay"),
    path("bookings/<uuid:booking_id>/cancel/", bookings.booking_cancel, name="booking-cancel"),
    path(
        "bookings/<uuid:booking_id>/tickets/<uuid:ticket_id>/name/",
        bookings.ticket_rename,
        name="ticket-rename",
    ),
    path(
        "bookings/<uuid:booking_id>/tickets.pdf",
        bookings.booking_tickets_pdf,
        name="booking-tickets-pdf",
    ),
    path("accounts/login/", account.SignInView.as_view(), name="login"),
    path("accounts/logout/", account.sign_out, name="logout"),
    path("accounts/signup/", account.sign_up, name="signup"),
    path("accounts/profile/", account.profile, name="profile"),
    path("accounts/password-reset/", account.password_reset_request, name="password-reset"),
    path("reset-password", account.reset_password, name="reset-password"),
]

urlpatterns += [
    path("console/", console.console_home, name="console"),
    path("console/events/new/", console.event_new, name="console-event-new"),
    path("console/events/<uuid:event_id>/", console.event_edit, name="console-event"),
    path(
        "console/events/<uuid:event_id>/publish/",
        console.event_publish,
        name="console-event-publish",
    ),
    path(
        "console/events/<uuid:event_id>/cancel/", console.event_cancel, name="console-event-cancel"
    ),
    path(
        "console/events/<uuid:event_id>/ticket-types/",
        console.ticket_type_add,
        name="console-ticket-type-add",
    ),
    path(
        "console/events/<uuid:event_id>/ticket-types/<uuid:ticket_type_id>/",
        console.ticket_type_edit,
        name="console-ticket-type",
    ),
    path(
        "console/events/<uuid:event_id>/bookings/",
        console.event_bookings,
        name="console-bookings",
    ),
    path("console/events/<uuid:event_id>/notify/", console.event_notify, name="console-notify"),
    path("console/events/<uuid:event_id>/audit/", console.event_audit, name="console-audit"),
    path("console/audit/", console.staff_audit, name="console-staff-audit"),
    path(
        "console/events/<uuid:event_id>/queue/",
        console.event_queue_stats,
        name="console-queue",
    ),
    path(
        "console/events/<uuid:event_id>/vouchers/",
        console.event_vouchers,
        name="console-vouchers",
    ),
    path(
        "console/events/<uuid:event_id>/vouchers.csv",
        console.event_vouchers_csv,
        name="console-vouchers-csv",
    ),
    path(
        "console/events/<uuid:event_id>/door-staff/",
        console.door_staff,
        name="console-door-staff",
    ),
    path("console/events/<uuid:event_id>/checkin/", door.check_in, name="checkin"),
    path(
        "console/events/<uuid:event_id>/checkin/counts/",
        door.check_in_counts,
        name="checkin-counts",
    ),
    path("console/bookings/<uuid:booking_id>/", console.booking_detail, name="console-booking"),
    path(
        "console/bookings/<uuid:booking_id>/mark-paid/",
        console.booking_mark_paid_view,
        name="console-booking-mark-paid",
    ),
    path(
        "console/bookings/<uuid:booking_id>/refund/",
        console.booking_refund_view,
        name="console-booking-refund",
    ),
]
