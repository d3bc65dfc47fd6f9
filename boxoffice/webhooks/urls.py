from django.urls import path

from boxoffice.webhooks import api

app_name = "webhooks"

urlpatterns = [
    path("webhooks/", api.WebhookListApi.as_view(), name="webhook-list"),
    path("webhooks/<uuid:endpoint_id>/", api.WebhookDetailApi.as_view(), name="webhook-detail"),
    path(
        "webhooks/<uuid:endpoint_id>/deliveries/",
        api.WebhookDeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/retry/",
        api.WebhookDeliveryRetryApi.as_view(),
        name="webhook-delivery-retry",
    ),
]
