"""Django settings: every value comes from the environment (see `.env.example`), safe defaults."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from config.env import BASE_DIR, database_config, env

# Lets typed code subscript Django's generic classes (ModelAdmin[Event], ...) at runtime.
django_stubs_ext.monkeypatch()

# --- Core --------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-debug-only-key"  # noqa: S105 - only reachable with DEBUG on
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "boxoffice.common",
    "boxoffice.outbox",
    "boxoffice.audit",
    "boxoffice.accounts",
    "boxoffice.webhooks",
    "boxoffice.events",
    "boxoffice.waitingroom",
    "boxoffice.bookings",
    "boxoffice.payments",
    "boxoffice.door",
    "boxoffice.notifications",
    "boxoffice.analytics",
    "boxoffice.staff",
    "boxoffice.web",
]

MIDDLEWARE = [
    "boxoffice.common.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "boxoffice.common.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "boxoffice.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "boxoffice.web.middleware.PrivatePagesMiddleware",
]

ROOT_URLCONF = env.str("DJANGO_ROOT_URLCONF", default="config.urls")
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "boxoffice.web.context.navigation",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=15_000)
DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", default=3_000)
# The hot statements (booking, its validation read, the token's user) are prepared once per
# connection (boxoffice/common/sql.py). Turn off behind a pooler in transaction mode that does
# not support prepared statements (PgBouncer before 1.21).
DB_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)
DATABASES = {
    "default": {
        **database_config(
            default_options={
                "connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=3),
                # Bounded waits: contention surfaces as 503 + Retry-After, never a hung request.
                "options": (
                    f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
                    f" -c lock_timeout={DB_LOCK_TIMEOUT_MS}"
                    " -c idle_in_transaction_session_timeout=60000"
                ),
                "application_name": env.str("DB_APPLICATION_NAME", default="boxoffice"),
            }
        ),
        "CONN_MAX_AGE": env.int("DB_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
    }
}

# --- Cache -------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="boxoffice")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    _redis_options = {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": env.int("CACHE_TIMEOUT", default=300),
            # A cache outage degrades to the database; it never fails a request.
            "OPTIONS": {**_redis_options, "IGNORE_EXCEPTIONS": True},
        },
        # Rate-limit buckets: errors surface, so sign-in and reset can fail closed.
        "throttle": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{CACHE_KEY_PREFIX}:throttle",
            "OPTIONS": {**_redis_options, "IGNORE_EXCEPTIONS": False},
        },
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "boxoffice-default",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": env.int("CACHE_TIMEOUT", default=300),
        },
        # Rate-limit buckets in a store of their own: cached pages never evict them.
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "boxoffice-throttle",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": env.int("THROTTLE_MAX_ENTRIES", default=1_000_000)},
        },
    }
# A Redis outage would log a traceback per cache operation; /api/v1/health/ reports it instead.
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False

# --- Auth --------------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
# The address people reach the site at, for links in e-mails (default: this server's own).
PUBLIC_BASE_URL = env.str(
    "PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
).rstrip("/")
# Where the emailed reset link points; {uid} and {token} are filled in. The default page exists.
# Where a payment provider sends the buyer back to, with {booking_id}; empty: the booking's web
# page under PUBLIC_BASE_URL.
PAYMENTS_RETURN_URL = env.str("PAYMENTS_RETURN_URL", default="")
PASSWORD_RESET_URL = env.str(
    "PASSWORD_RESET_URL", default=PUBLIC_BASE_URL + "/reset-password?uid={uid}&token={token}"
)

# Seconds a bearer token's user is kept in the shared cache (accounts/cache.py); revocation stays
# instant. Off (0) without Redis: a per-process cache could not be invalidated by other processes.
USER_CACHE_SECONDS = env.int("USER_CACHE_SECONDS", default=300 if REDIS_URL else 0)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=10)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Revocation by the user's token_version (boxoffice.accounts.authentication), not a claim
    # derived from the password hash.
    "CHECK_REVOKE_TOKEN": False,
    "CHECK_USER_IS_ACTIVE": True,
    "LEEWAY": 0,
}

# --- REST framework ----------------------------------------------------------------------------
THROTTLE_RATES = {
    "anon": env.str("THROTTLE_ANON", default="120/min"),
    "user": env.str("THROTTLE_USER", default="600/min"),
    "login": env.str("THROTTLE_LOGIN", default="10/min"),
    "register": env.str("THROTTLE_REGISTER", default="20/hour"),
    "password_reset": env.str("THROTTLE_PASSWORD_RESET", default="5/hour"),
    "booking": env.str("THROTTLE_BOOKING", default="30/min"),
    "notify": env.str("THROTTLE_NOTIFY", default="10/hour"),
    # Failed sign-ins per account (e-mail), from any number of addresses.
    "login_account": env.str("THROTTLE_LOGIN_ACCOUNT", default="10/hour"),
    # Reset e-mails per account, whoever asks: no mail bombing through the reset form.
    "password_reset_account": env.str("THROTTLE_PASSWORD_RESET_ACCOUNT", default="3/hour"),
}
# Scopes that refuse (503 + Retry-After) rather than allow when the throttle cache is down.
THROTTLE_FAIL_CLOSED = frozenset(
    {"login", "login_account", "register", "password_reset", "password_reset_account"}
)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["boxoffice.accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["boxoffice.common.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "boxoffice.common.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "boxoffice.common.throttling.AnonRateThrottle",
        "boxoffice.common.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    # Trusted reverse proxies in front of the server: 0 means the client address is REMOTE_ADDR
    # and X-Forwarded-For is ignored; n takes the n-th address from the right of that header.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "boxoffice.common.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "boxoffice.common.schema.AutoSchema",
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Boxoffice API",
    "DESCRIPTION": (
        "Event ticketing and booking that never oversells. Authenticate with "
        "`POST /api/v1/auth/token/`, then press **Authorize** and paste the `access` token. "
        "Every error is an RFC 9457 `application/problem+json` document with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayRequestDuration": True},
    "ENUM_NAME_OVERRIDES": {
        "BookingStatusEnum": "boxoffice.bookings.models.BookingStatus",
        "EventStatusEnum": "boxoffice.events.models.EventStatus",
        "TicketStatusEnum": "boxoffice.bookings.models.TicketStatus",
        "WaitlistStatusEnum": "boxoffice.bookings.models.WaitlistStatus",
        "DiscountTypeEnum": "boxoffice.events.models.DiscountType",
        "RoleEnum": "boxoffice.accounts.models.Role",
        "HealthStatusEnum": ["ok", "degraded", "unavailable"],
        "WebhookDeliveryStatusEnum": "boxoffice.webhooks.models.DeliveryStatus",
        "WebhookEventTypeEnum": "boxoffice.webhooks.models.WebhookEventType",
        "PublishStatusEnum": ["draft", "published"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "boxoffice.common.schema.postprocess_problem_responses",
        "boxoffice.common.schema.postprocess_links",
    ],
}

# --- Celery / outbox ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# Without a broker, tasks run in-process right after commit, so `make run` works alone.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
# Publishing must never hold up a request: one quick attempt, the outbox relay covers the rest.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "visibility_timeout": 3600,
}
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="boxoffice")
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
AUDIT_PURGE_SECONDS = float(env.int("AUDIT_PURGE_SECONDS", default=86400))
CELERY_BEAT_SCHEDULE = {
    "outbox-relay": {
        "task": "boxoffice.outbox.tasks.outbox_relay_task",
        "schedule": float(env.int("OUTBOX_RELAY_INTERVAL_SECONDS", default=15)),
    },
    "idempotency-purge": {
        "task": "boxoffice.bookings.tasks.idempotency_purge_task",
        "schedule": 3600.0,
    },
    "queue-tick": {
        "task": "boxoffice.waitingroom.tasks.queue_tick_task",
        "schedule": float(env.int("QUEUE_TICK_SECONDS", default=5)),
    },
    "holds-expire": {
        "task": "boxoffice.bookings.tasks.holds_expire_task",
        "schedule": float(env.int("HOLD_SWEEP_SECONDS", default=60)),
    },
    "webhooks-send": {
        "task": "boxoffice.webhooks.tasks.webhooks_send_due_task",
        "schedule": float(env.int("WEBHOOKS_POLL_SECONDS", default=2)),
    },
    "audit-purge": {
        "task": "boxoffice.audit.tasks.audit_purge_task",
        "schedule": AUDIT_PURGE_SECONDS,
    },
    "flush-expired-tokens": {
        "task": "boxoffice.accounts.tasks.flush_expired_tokens",
        "schedule": 86400.0,
    },
}
OUTBOX_RELAY_INTERVAL_SECONDS = CELERY_BEAT_SCHEDULE["outbox-relay"]["schedule"]
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
# "celery": hand each message to a Celery worker right after commit (the default with a broker);
# "relay": leave every message to the relay loop (the default without one: nothing, not even an
# e-mail, is sent inside a request; `make run` starts the loop next to the server).
OUTBOX_DISPATCH = env.str("OUTBOX_DISPATCH", default="celery" if CELERY_BROKER_URL else "relay")
IDEMPOTENCY_TTL_HOURS = 24
# An overdue hold is released at most this long after it expires, with or without traffic.
# Outbound webhooks: receivers on private/loopback addresses only with this on (local tests);
# a 5 s timeout per attempt; retries for 3 days, then the endpoint is disabled.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=5.0)
WEBHOOKS_RETRY_WINDOW_HOURS = env.int("WEBHOOKS_RETRY_WINDOW_HOURS", default=72)
WEBHOOKS_CONCURRENCY = env.int("WEBHOOKS_CONCURRENCY", default=8)
WEBHOOKS_POLL_SECONDS = float(env.int("WEBHOOKS_POLL_SECONDS", default=2))
# Audit entries older than this many days are purged daily (0 keeps them forever).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=730)
HOLD_SWEEP_SECONDS = float(env.int("HOLD_SWEEP_SECONDS", default=60))

# --- Waiting room ------------------------------------------------------------------------------
# The scheduler admits from each open queue this often (Celery beat, or the relay loop without a
# broker); a pass is good for QUEUE_PASS_MINUTES after admission and for this many bookings.
QUEUE_TICK_SECONDS = float(env.int("QUEUE_TICK_SECONDS", default=5))
QUEUE_PASS_MINUTES = env.int("QUEUE_PASS_MINUTES", default=10)
QUEUE_BOOKINGS_PER_PASS = env.int("QUEUE_BOOKINGS_PER_PASS", default=1)
# Joins read an event's queue settings from a per-process copy this many seconds old at most.
QUEUE_EVENT_CACHE_SECONDS = env.float("QUEUE_EVENT_CACHE_SECONDS", default=2.0)

# --- Payments ----------------------------------------------------------------------------------
# Starting a payment extends the hold once, to at least now + this.
PAYMENT_WINDOW_MINUTES = env.int("PAYMENT_WINDOW_MINUTES", default=10)
# How long a waiting-list offer (a pending booking made for the next person in line) holds.
WAITLIST_OFFER_HOURS = env.int("WAITLIST_OFFER_HOURS", default=24)
# The fake PSP (a hosted Pay/Decline page and Stripe-style signed webhooks) for demos and tests;
# `make run` turns it on, production leaves it off unless set.
PAYMENTS_FAKE = env.bool("PAYMENTS_FAKE", default=False)
PAYMENTS_FAKE_WEBHOOK_SECRET = env.str(
    "PAYMENTS_FAKE_WEBHOOK_SECRET",
    default="whsec_fake_" + hashlib.sha256(f"fake-psp:{SECRET_KEY}".encode()).hexdigest()[:32],
)
# Stripe is enabled when both are set.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Signed webhooks older than this are refused (replays); Stripe's own default tolerance too.
WEBHOOK_TOLERANCE_SECONDS = 300

# --- Email -------------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH", str(BASE_DIR / ".data" / "mail"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The confirmation e-mail attaches the tickets' PDF and the .ics up to this size in all; above it
# the PDF is left out and the e-mail's signed download link carries it.
EMAIL_ATTACHMENTS_MAX_BYTES = env.int("EMAIL_ATTACHMENTS_MAX_BYTES", default=2_000_000)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Boxoffice <tickets@localhost>")

# --- Domain ------------------------------------------------------------------------------------
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="EUR")
# Caps what one organizer can attach to an event (and so what a public page can be made to carry).
MAX_TICKET_TYPES_PER_EVENT = env.int("MAX_TICKET_TYPES_PER_EVENT", default=50)
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# --- Server (granian + config.asgi; see boxoffice/common/wsgi_bridge.py) ---------------------
# Threads per process that run Django; a request takes one only once it has been read completely.
# 2 measured best with 3 processes on 2 cores (bench/README.md); without Redis, make run uses 1
# process and more threads.
SERVER_THREADS = env.int("WEB_THREADS", default=2)
# A request body must arrive within this many seconds of its headers (408 otherwise).
SERVER_BODY_TIMEOUT_SECONDS = env.float("SERVER_BODY_TIMEOUT_SECONDS", default=10.0)
# The sold-out gate (boxoffice/bookings/soldout.py): how long a process answers a booking request
# for tickets it saw sold out on its event loop, without a thread (0 turns it off). A seat freed
# meanwhile is offered again at most this much later.
SOLD_OUT_GATE_SECONDS = env.float("SOLD_OUT_GATE_SECONDS", default=1.0)

# --- i18n / static -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# Web pages sign in with a session (CSRF-protected); the API keeps its bearer tokens.
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / ".data" / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security ----------------------------------------------------------------------------------
# DJANGO_HTTPS=true when served behind TLS (production): HSTS, secure cookies, redirects.
HTTPS = env.bool("DJANGO_HTTPS", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$"]
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Logging -----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},  # subsetting the ticket PDF's fonts logs every table
        "fpdf": {"level": "WARNING"},
    },
}
