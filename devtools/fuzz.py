"""`make fuzz`: schemathesis against the running server's own OpenAPI schema.

Every phase (examples, coverage, fuzzing, stateful via the schema's links), positive and negative
data, authenticated as a staff superuser (who may call every operation), on a scratch database
seeded with an organizer's published event. Fails on any server error, response that breaks its
documented schema, undocumented status code or content type.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from devtools import harness

FUZZ_DB = "boxoffice_fuzz"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)
# The token's own user must survive the run: deactivating it ends the session for every
# later request, so that one operation is exercised by the test-suite instead.
EXCLUDED_OPERATION_IDS = ["auth_me_destroy"]  # DELETE /api/v1/auth/me/


def seed() -> tuple[str, dict[str, str]]:
    """A staff superuser (whose token drives the run), an organizer's published event with a
    ticket type, a category and an attendee's booking; returns the token and the real ids."""
    from rest_framework_simplejwt.tokens import AccessToken  # noqa: PLC0415 - after setup

    from boxoffice.accounts.models import Role, User  # noqa: PLC0415
    from boxoffice.bookings.services import BookingLine, booking_create  # noqa: PLC0415
    from boxoffice.events.models import Category  # noqa: PLC0415

    staff = User.objects.create_superuser("fuzz-staff@example.com", "fuzz-staff-pass-123")
    organizer = User.objects.create_user(
        "fuzz-organizer@example.com", "fuzz-organizer-pass-1", role=Role.ORGANIZER
    )
    attendee = User.objects.create_user("fuzz-attendee@example.com", "fuzz-attendee-pass-1")
    category = Category.objects.create(name="Music", slug="music", path="music")
    event, ticket_type = harness.published_event(
        organizer=organizer, title="Fuzzed", quantity=10_000, price="10.00"
    )
    event.category = category
    event.save(update_fields=["category"])
    booking = booking_create(
        user=attendee, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 2)]
    )
    ids = {
        "event_id": str(event.pk),
        "ticket_type_id": str(ticket_type.pk),
        "booking_id": str(booking.pk),
        "category_id": str(category.pk),
    }
    return str(AccessToken.for_user(staff)), ids


def write_config(path: Path, ids: dict[str, str]) -> None:
    """Path parameters draw the seeded ids most of the time, random ones otherwise."""
    lines = []
    for name, value in ids.items():
        lines += [f"[dictionaries.{name}]", f'values = ["{value}"]', ""]
    lines.append("[parameters]")
    for name in ids:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.7 }}')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def check_token(port: int, token: str) -> None:
    """Fail fast if the server does not accept the run's credentials."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/me/", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - localhost
            if response.status == 200:
                return
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"the fuzz token is refused: {exc.code} {exc.read()[:300]!r}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=25)
    # One worker: schemathesis's workers are threads, and Hypothesis describes its filters with
    # ast.parse, whose constructor state CPython 3.11 shares between threads; two threads parsing
    # at once fail with "SystemError: AST constructor recursion depth mismatch" (cpython#106905).
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=None)
    args, extra = parser.parse_known_args(argv)
    database_url, _ = harness.scratch_database(FUZZ_DB)
    settings_env = {"JWT_ACCESS_MINUTES": "240", "EMAIL_URL": "dummymail://"}
    harness.setup_django(database_url, **settings_env)
    token, ids = seed()
    port = harness.free_port()
    server = harness.start_server(
        port=port,
        workers=3,
        database_url=database_url,
        OUTBOX_DISPATCH="relay",
        **settings_env,
        **{
            f"THROTTLE_{scope}": "100000000/min"
            for scope in (
                "ANON",
                "USER",
                "BOOKING",
                "LOGIN",
                "REGISTER",
                "PASSWORD_RESET",
                "NOTIFY",
            )
        },
    )
    check_token(port, token)
    report_dir = Path(harness.ROOT / ".data" / "fuzz")
    config = report_dir / "schemathesis.toml"
    write_config(config, ids)
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"http://127.0.0.1:{port}/api/schema/",
        "--checks",
        CHECKS,
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(args.max_examples),
        "--workers",
        str(args.workers),
        "--header",
        f"Authorization: Bearer {token}",
        # Keep the run's real token: bad credentials have their own tests (tests/common).
        "--generation-with-security-parameters",
        "false",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
        "--request-timeout",
        "30",
        "--no-shrink",
    ]
    for operation_id in EXCLUDED_OPERATION_IDS:
        command += ["--exclude-operation-id", operation_id]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    command += extra
    try:
        return subprocess.run(command, check=False, env={**os.environ, "NO_COLOR": "1"}).returncode
    finally:
        harness.stop(server)


if __name__ == "__main__":
    sys.exit(main())
