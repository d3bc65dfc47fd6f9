from django.urls import path

from boxoffice.payments import api

app_name = "payments"

urlpatterns = [
    path("payments/providers/", api.ProviderListApi.as_view(), name="providers"),
    path("payments/webhooks/<str:provider>/", api.WebhookApi.as_view(), name="webhook"),
    path("bookings/<uuid:booking_id>/pay/", api.BookingPayApi.as_view(), name="booking-pay"),
    path(
        "bookings/<uuid:booking_id>/mark-paid/",
        api.BookingMarkPaidApi.as_view(),
        name="booking-mark-paid",
    ),
    path(
        "bookings/<uuid:booking_id>/refund/", api.BookingRefundApi.as_view(), name="booking-refund"
    ),
]
