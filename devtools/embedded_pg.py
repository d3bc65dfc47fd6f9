"""Embedded PostgreSQL (the `pgserver` wheel) for `make run` / `make test` without DATABASE_URL.

Usage:
    python -m devtools.embedded_pg exec -- CMD...   run CMD with DATABASE_URL pointing at the
                                                    embedded server (started if needed, stopped
                                                    afterwards if this call started it); a set
                                                    DATABASE_URL wins
    python -m devtools.embedded_pg start|url|stop|status   (start and url print the URL)

The data lives under `.data/pg` and survives restarts. The server listens on a Unix socket only.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

# pgserver keeps its lock file in the user runtime dir and warns when XDG_RUNTIME_DIR is unset.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("BOXOFFICE_DATA_DIR", ROOT / ".data"))
PGDATA = DATA_DIR / "pg"
DB_NAME = "boxoffice"
# Race tests open one connection per thread; the default of 100 is too tight for them.
MAX_CONNECTIONS = "300"


def _is_running() -> bool:
    from pgserver.utils import PostmasterInfo  # noqa: PLC0415 - optional dependency group

    info = PostmasterInfo.read_from_pgdata(PGDATA)
    return info is not None and info.is_running() and info.status == "ready"


def _pg_ctl(*args: str) -> None:
    import pgserver  # noqa: PLC0415

    user = "pgserver" if os.geteuid() == 0 else None
    pgserver.pg_ctl(list(args), pgdata=PGDATA, user=user)  # type: ignore[attr-defined]


def _url(server_uri: str) -> str:
    # pgserver hands out "postgresql://postgres:@/postgres?host=/sock/dir"; Django wants the socket
    # directory as an url-encoded host.
    socket_dir = server_uri.split("host=", 1)[1].split("&", 1)[0]
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{DB_NAME}"


def start() -> tuple[str, bool]:
    """Start the server if needed; return (DATABASE_URL, whether this call started it)."""
    try:
        import pgserver  # noqa: PLC0415
    except ImportError:
        sys.exit("pgserver is not installed: run `make install`, or set DATABASE_URL.")
    import psycopg  # noqa: PLC0415

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    was_running = PGDATA.exists() and _is_running()
    server = pgserver.get_server(PGDATA, cleanup_mode=None)
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
        restart = row is None or row[0] != MAX_CONNECTIONS
        if restart:
            conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    if restart:
        _pg_ctl("-w", "-m", "fast", "restart")
        server = pgserver.get_server(PGDATA, cleanup_mode=None)
        admin_uri = server.get_uri()
    return _url(admin_uri), not was_running


def stop() -> None:
    if PGDATA.exists() and _is_running():
        _pg_ctl("-w", "-m", "fast", "stop")


def local_secret_key() -> str:
    """A persistent secret for local commands, so they need no configuration and DEBUG stays off."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def local_environment() -> tuple[dict[str, str], bool]:
    """os.environ plus what local commands need: a database (embedded unless DATABASE_URL is
    set) and a secret key. Returns the environment and whether the database was started here."""
    env = dict(os.environ)
    started = False
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"], started = start()
    env.setdefault("DJANGO_SECRET_KEY", local_secret_key())
    return env, started


def run_with_database(command: list[str]) -> int:
    """Run `command` in the local environment, forwarding Ctrl-C / SIGTERM, then clean up."""
    env, started = local_environment()
    proc = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        return proc.wait()
    finally:
        if started:
            stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("action", choices=["exec", "start", "stop", "url", "status"])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "exec":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("exec needs a command after --")
        return run_with_database(command)
    if args.action in {"start", "url"}:
        print(start()[0])
    elif args.action == "stop":
        stop()
    elif args.action == "status":
        print("running" if PGDATA.exists() and _is_running() else "stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
