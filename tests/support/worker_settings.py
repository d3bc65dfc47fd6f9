"""Settings for worker and relay processes started by the external-path tests."""

from config.settings import *  # noqa: F403

EMAIL_BACKEND = "tests.support.mail.SlowFileBackend"
