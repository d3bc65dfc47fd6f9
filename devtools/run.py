"""`make run`: database (embedded unless DATABASE_URL is set), migrations, static files, then the
production server (granian + config.asgi, see devtools/harness.server_command) on PORT, and
without a broker the outbox relay loop beside it. Prints a short summary; the details (migrations,
requests, e-mails of the console backend) go to .data/logs/run.log. Ctrl-C stops everything this
started, including the embedded database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO

from devtools import embedded_pg, harness

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LOG = embedded_pg.DATA_DIR / "logs" / "run.log"


def _manage(env: dict[str, str], log: IO[bytes], *args: str) -> None:
    result = subprocess.run(
        [PY, "manage.py", *args],
        check=False,
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    if result.returncode != 0:
        raise SystemExit(f"`manage.py {' '.join(args)}` failed; see {LOG}")


def _offer_demo_data(env: dict[str, str], log: IO[bytes]) -> None:
    probe = subprocess.run(
        [PY, "manage.py", "seed_demo", "--check-empty"], env=env, cwd=ROOT, check=False
    )
    if probe.returncode != 0:
        return  # the database has data already
    if sys.stdin.isatty():
        answer = input("The database is empty. Load demo events and users? [y/N] ").strip().lower()
        if answer in {"y", "yes"}:
            subprocess.run([PY, "manage.py", "seed_demo"], env=env, cwd=ROOT, check=True)
            return
    print("The database is empty: `make demo` (in another terminal) loads demo data and logins.")


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


def _summary(env: dict[str, str], *, host: str, port: int, workers: int) -> str:
    base = f"http://{'127.0.0.1' if host in {'0.0.0.0', '::'} else host}:{port}"  # noqa: S104
    database = "DATABASE_URL" if "DATABASE_URL" in os.environ else "embedded PostgreSQL (.data/pg)"
    broker = (
        "Redis (cache, throttles, Celery broker: run `make worker` too)"
        if env.get("REDIS_URL")
        else "none: in-process cache, outbox relay loop beside the server"
    )
    return (
        "\nBoxoffice is running. Ctrl-C stops everything.\n"
        f"  Storefront {base}/  (organizers: {base}/console/)\n"
        f"  API        {base}/api/v1/\n"
        f"  API docs   {base}/api/docs/  (ReDoc: {base}/api/redoc/)\n"
        f"  Admin      {base}/admin/\n"
        f"  Server     granian, {workers} process(es) x {env.get('WEB_THREADS', '2')} threads\n"
        f"  Database   {database}\n"
        f"  Broker     {broker}\n"
        f"  Log        {LOG.relative_to(ROOT) if LOG.is_relative_to(ROOT) else LOG}"
        "  (requests, and e-mails with the console backend)\n"
        "  Demo       `make demo` loads events and prints the logins "
        "(staff@example.com / boxoffice-demo-2026 ...)\n"
    )


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    host = os.environ.get("HOST", "127.0.0.1")
    if not _port_is_free(host, port):
        print(f"Port {port} is busy; set PORT (e.g. `PORT=8001 make run`).", file=sys.stderr)
        return 2
    env, started_db = embedded_pg.local_environment()
    env.setdefault("PAYMENTS_FAKE", "true")  # the fake PSP, so the demo can be paid
    LOG.parent.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: object) -> None:
        # Only pass the signal on here: waiting inside a handler would deadlock on Popen.wait.
        for child in children:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)

    with LOG.open("ab") as log:
        try:
            print("Preparing the database (migrations, static files) ...", flush=True)
            _manage(env, log, "migrate", "--noinput")
            _manage(env, log, "collectstatic", "--noinput", "-v", "0")
            _offer_demo_data(env, log)
            if not env.get("REDIS_URL"):
                # No broker: the relay loop sends outbox messages (e-mails) within a second.
                relay = [PY, "manage.py", "outbox_relay", "--loop", "--interval", "1"]
                children.append(subprocess.Popen(relay, env=env, cwd=ROOT, stdout=log, stderr=log))
            workers = _workers(env)
            server = harness.server_command(
                host=host, port=port, workers=workers, access_log=True, log_level="info"
            )
            children.append(subprocess.Popen(server, env=env, cwd=ROOT, stdout=log, stderr=log))
            harness.wait_healthy(port)
            print(_summary(env, host=host, port=port, workers=workers), flush=True)
            signal.signal(signal.SIGINT, forward)
            signal.signal(signal.SIGTERM, forward)
            children[-1].wait()
            return children[-1].returncode or 0
        except KeyboardInterrupt:
            return 0
        except RuntimeError as exc:  # the server never became healthy
            print(f"{exc}; see {LOG}", file=sys.stderr)
            return 1
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
                print("Stopped (embedded PostgreSQL too).")


if __name__ == "__main__":
    sys.exit(main())
