"""`make run`: database (embedded unless DATABASE_URL is set), migrations, static files, then
gunicorn on PORT. Ctrl-C stops everything this started, including the embedded database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from devtools import embedded_pg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], env=env, cwd=ROOT, check=True)


def _offer_demo_data(env: dict[str, str]) -> None:
    probe = subprocess.run(
        [PY, "manage.py", "seed_demo", "--check-empty"], env=env, cwd=ROOT, check=False
    )
    if probe.returncode != 0:
        return  # the database has data already
    if sys.stdin.isatty():
        answer = input("The database is empty. Load demo events and users? [y/N] ").strip().lower()
        if answer in {"y", "yes"}:
            _manage(env, "seed_demo")
            return
    print("The database is empty: `.venv/bin/python manage.py seed_demo` loads a demo.")


def _workers(env: dict[str, str]) -> list[str]:
    """Several processes share a cache only through Redis: without it, one process with
    threads, so a write is visible on the next read from any thread."""
    if env.get("REDIS_URL"):
        default = str(max(2, 2 * (os.cpu_count() or 1) - 1))
        return ["--workers", env.get("WEB_CONCURRENCY", default)]
    return ["--workers", "1", "--worker-class", "gthread", "--threads", env.get("WEB_THREADS", "8")]


def main() -> int:
    env, started_db = embedded_pg.local_environment()
    if "DATABASE_URL" not in os.environ:
        print("Embedded PostgreSQL running (data in .data/pg).")
    port = env.get("PORT", "8000")
    children: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: object) -> None:
        # Only pass the signal on here: waiting inside a handler would deadlock on Popen.wait.
        for child in children:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)

    try:
        _manage(env, "migrate", "--noinput")
        _manage(env, "collectstatic", "--noinput", "-v", "0")
        _offer_demo_data(env)
        if not env.get("REDIS_URL"):
            # No broker: a relay loop retries outbox messages that failed in-process.
            children.append(
                subprocess.Popen([PY, "manage.py", "outbox_relay", "--loop"], env=env, cwd=ROOT)
            )
        gunicorn = [
            str(Path(PY).parent / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"{env.get('HOST', '127.0.0.1')}:{port}",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "10",
            "--timeout",
            "30",
            *_workers(env),
        ]
        children.append(subprocess.Popen(gunicorn, env=env, cwd=ROOT))
        print(
            f"\nBoxoffice API on http://127.0.0.1:{port}/api/v1/\n"
            f"  Swagger UI: http://127.0.0.1:{port}/api/docs/\n"
            f"  ReDoc:      http://127.0.0.1:{port}/api/redoc/\n"
            f"  Admin:      http://127.0.0.1:{port}/admin/  (make superuser)\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        children[-1].wait()
        return children[-1].returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if started_db:
            embedded_pg.stop()
            print("Embedded PostgreSQL stopped.")


if __name__ == "__main__":
    sys.exit(main())
