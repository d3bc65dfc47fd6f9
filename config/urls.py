"""URL map: the versioned API under /api/v1/, its schema and docs, the Django admin, the fake
PSP's page and the web pages (everything else)."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from boxoffice.payments.views import fake_checkout

api_v1: list[URLPattern | URLResolver] = [
    path("auth/", include("boxoffice.accounts.urls")),
    path("", include("boxoffice.events.urls")),
    path("", include("boxoffice.waitingroom.urls")),
    path("", include("boxoffice.bookings.urls")),
    path("", include("boxoffice.payments.urls")),
    path("", include("boxoffice.door.urls")),
    path("", include("boxoffice.notifications.urls")),
    path("", include("boxoffice.analytics.urls")),
    path("", include("boxoffice.staff.urls")),
    path("", include("boxoffice.audit.urls")),
    path("", include("boxoffice.webhooks.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
    path("payments/fake/<uuid:payment_id>/", fake_checkout, name="fake-checkout"),
    path("", include("boxoffice.web.urls")),
]

handler400 = "boxoffice.common.views.bad_request"
handler403 = "boxoffice.common.views.permission_denied"
handler404 = "boxoffice.common.views.not_found"
handler500 = "boxoffice.common.views.server_error"
