"""`make check`: fails on migration drift, OpenAPI schema warnings or deploy-check findings."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

PY = sys.executable


def run(args: list[str], env: dict[str, str] | None = None) -> None:
    print("$", " ".join(args), flush=True)
    subprocess.run(args, check=True, env=env)


def main() -> int:
    base = {**os.environ, "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "check-only")}
    run([PY, "manage.py", "makemigrations", "--check", "--dry-run"], env=base)
    with tempfile.NamedTemporaryFile(suffix=".yaml") as schema:
        run(
            [PY, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", schema.name],
            env=base,
        )
    production = {
        **base,
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "true",
        "DJANGO_SECRET_KEY": "x" * 64 + "-production-like-deploy-check-key",
        "DJANGO_ALLOWED_HOSTS": "boxoffice.example.com",
        "REDIS_URL": "redis://cache.internal:6379/0",
    }
    run([PY, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=production)
    print("checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
