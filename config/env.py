"""The one place that reads configuration: environment variables, optionally seeded from `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    # Real environment variables win over the file.
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def database_config(*, default_options: dict[str, Any]) -> dict[str, Any]:
    """DATABASE_URL as a Django DATABASES entry; PostgreSQL only (SQLite is not supported)."""
    url = env.str("DATABASE_URL", default="")
    if not url:
        raise ImproperlyConfigured(
            "DATABASE_URL is not set. Start through `make run` / `make test` (they provide an "
            "embedded PostgreSQL) or export DATABASE_URL=postgres://user@host:5432/name."
        )
    config = environ.Env.db_url_config(url)
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL.")
    # A Unix socket directory arrives url-encoded in the host part.
    config["HOST"] = unquote(str(config.get("HOST", "")))
    config["OPTIONS"] = {**default_options, **config.get("OPTIONS", {})}
    return config
