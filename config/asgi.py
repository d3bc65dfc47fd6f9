"""The served application: Django's WSGI handler behind a request-buffering ASGI bridge (granian).

`granian --interface asgi config.asgi:application` is what `make run`, the bench and production use
(see docs/deployment in the README): slow or idle clients cost a socket, never a worker thread.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

wsgi_application = get_wsgi_application()

from django.conf import settings  # noqa: E402 - after Django is set up

from boxoffice.bookings.soldout import SoldOutGate  # noqa: E402
from boxoffice.common.wsgi_bridge import BufferedWSGI  # noqa: E402

application = BufferedWSGI(
    wsgi_application,
    threads=settings.SERVER_THREADS,
    max_body_bytes=settings.MAX_REQUEST_BODY_BYTES,
    body_timeout=settings.SERVER_BODY_TIMEOUT_SECONDS,
    shortcut=SoldOutGate() if settings.SOLD_OUT_GATE_SECONDS > 0 else None,
)
