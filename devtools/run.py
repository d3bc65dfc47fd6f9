"""`make run`: database (embedded unless DATABASE_URL is set), migrations, static files, then the
production server (granian + config.asgi, see devtools/harness.server_command) on PORT. Ctrl-C
stops everything this started, including the embedded database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from devtools import embedded_pg, harness

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


def _workers(env: dict[str, str]) -> int:
    """Several processes share a cache only through Redis: without it, one process with more
    threads, so a write is visible on the next read from any thread."""
    if env.get("REDIS_URL"):
        return int(env.get("WEB_CONCURRENCY", str(max(2, 2 * (os.cpu_count() or 1) - 1))))
    env.setdefault("WEB_THREADS", "8")
    return 1


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def main() -> int:
    env, started_db = embedded_pg.local_environment()
    if "DATABASE_URL" not in os.environ:
        print("Embedded PostgreSQL running (data in .data/pg).")
    port = env.get("PORT", "8000")
    host = env.get("HOST", "127.0.0.1")
    if not _port_is_free(host, int(port)):
        print(f"Port {port} is busy; set PORT (e.g. `PORT=8001 make run`).", file=sys.stderr)
        if started_db:
            embedded_pg.stop()
        return 2
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
                subprocess.Popen(
                    [PY, "manage.py", "outbox_relay", "--loop", "--interval", "1"],
                    env=env,
                    cwd=ROOT,
                )
            )
        server = harness.server_command(
            host=host, port=int(port), workers=_workers(env), access_log=True, log_level="info"
        )
        children.append(subprocess.Popen(server, env=env, cwd=ROOT))
        harness.wait_healthy(int(port))
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
