"""Test settings: the real configuration with fast hashing and in-memory mail, on PostgreSQL."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")

from config.settings import *  # noqa: F403
from config.settings import REST_FRAMEWORK, THROTTLE_RATES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Throttling is exercised by dedicated tests that lower these rates.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(THROTTLE_RATES, "100000/min"),
}
# Tests open many short-lived connections from worker threads; keep none around between them.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Static files are not collected for tests.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
# Tasks run in-process after commit, so a test sees its e-mail at once; the worker tests start a
# real Celery worker themselves, and tests of the relay mode set OUTBOX_DISPATCH="relay".
CELERY_TASK_ALWAYS_EAGER = True
OUTBOX_DISPATCH = "celery"
PAYMENTS_FAKE = True
# Test receivers listen on loopback; the SSRF guard's own tests turn this off.
WEBHOOKS_ALLOW_PRIVATE = True
