"""`make profile`: where a server worker's CPU goes per request, by part, measured under load.

One granian worker (as `make run` serves it) on a scratch database (`boxoffice_profile`), a
closed-loop load of one kind of request (`booking`: distinct users each booking one ticket of one
type; `soldout`: the same on a sold-out type; `trivial`: the bench's trivial DRF endpoint;
`minimal`: the bench's minimal booking endpoint, the floor of a booking on this stack), and py-spy
sampling the worker's threads the whole time, only a thread holding the GIL (so a sample is Python
CPU: a thread waiting on PostgreSQL or Redis has released it). Each sample is charged to the
innermost frame that names a part (PARTS below, first match from the leaf); the table gives each
part's CPU milliseconds per request.

    make profile                               # bookings, 16 clients, 20 s
    make profile PROFILE_ARGS="--kind soldout"
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.run import BENCH_NAMESPACE, checkout_requests, clean_redis, start_bench_server
from devtools import harness

PROFILE_DB = "boxoffice_profile"
RATE = 250  # samples per second

# (part, pattern on "function (file)"), first match from the leaf up decides. Order matters only
# among patterns that can match the same frame.
PARTS: list[tuple[str, str]] = [
    ("logging", r"/logging/"),
    ("JWT authentication + user query", r"(simplejwt|accounts/authentication\.py)"),
    ("throttles", r"(rest_framework/throttling\.py|common/throttling\.py)"),
    ("request parsing", r"(rest_framework/parsers\.py|common/parsers\.py|_load_data_and_files)"),
    ("input serializer", r"^(\w+\.)?(is_valid|run_validation|to_internal_value|validated) "),
    ("validation read (event, types, voucher)", r"^(_load|_validate_request) \(.*bookings/"),
    ("waiting-room check", r"waitingroom/"),
    ("sold-out reclaim (holds_expire)", r"^holds_expire "),
    ("refusal (why, and its problem)", r"^(_refusal|_sold_out|problem_exception_handler) "),
    ("the statement + commit", r"^(_record_booking|_book_validated|_book|booking_book) "),
    ("idempotency", r"bookings/idempotency\.py"),
    (
        "response serializer",
        r"^(\w+\.)?(to_representation|data) \(.*rest_framework/(serializers|fields)",
    ),
    ("rendering", r"(rest_framework/renderers\.py|common/renderers\.py|rendered_content)"),
    ("DRF dispatch + negotiation", r"rest_framework/(views|negotiation|request)\.py"),
    ("middleware", r"(django/middleware/|whitenoise/|common/middleware\.py|web/middleware\.py)"),
    ("Django handler + URL resolving", r"django/(core/handlers|urls)/"),
    ("server bridge (ASGI, threads)", r"(wsgi_bridge|asyncio|granian|threading)"),
    # psycopg's own Python (binding, sending, reading results), whoever called it: py-spy often
    # cannot unwind these stacks to their caller, so the driver is a part of its own.
    ("database driver (psycopg)", r"psycopg/"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in PARTS]


def charge(stack: list[str]) -> str:
    for frame in reversed(stack):  # leaf first
        if frame.startswith("process "):
            break  # py-spy's root frame names the process (granian's command line), not a part
        for name, pattern in COMPILED:
            if pattern.search(frame):
                return name
    return "other"


def parse(raw: str) -> Counter[str]:
    parts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text or not count.isdigit():
            continue
        parts[charge(stack_text.split(";"))] += int(count)
    return parts


def fixtures(users: int) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password
    from rest_framework_simplejwt.tokens import AccessToken

    from boxoffice.accounts.models import Role, User

    organizer = User.objects.create_user(
        "profile-organizer@example.com", "profile-organizer-pass-1", role=Role.ORGANIZER
    )
    event, open_type = harness.published_event(
        organizer=organizer, title="Profile", quantity=10**8, price="49.00", days_ahead=60
    )
    from boxoffice.events.models import TicketType

    sold_out = TicketType.objects.create(
        event=event, name="Gone", price=open_type.price, quantity=1, quantity_sold=1
    )
    event.tickets_sold = 1
    event.save(update_fields=["tickets_sold"])
    unusable = make_password(None)
    batch = [User(email=f"profile-{i}@example.com", password=unusable) for i in range(users)]
    User.objects.bulk_create(batch, batch_size=5000)
    return {
        "event": str(event.pk),
        "open": str(open_type.pk),
        "sold_out": str(sold_out.pk),
        "tokens": [str(AccessToken.for_user(user)) for user in batch],
        "user_ids": [user.pk for user in batch],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # pay: a payment started for a hold (the holds are made first, unprofiled); confirm: the
    # fake PSP's signed payment.succeeded webhook for it (the payments are started first).
    parser.add_argument(
        "--kind",
        choices=["booking", "soldout", "trivial", "minimal", "pay", "confirm"],
        default="booking",
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--flamegraph", help="also write an SVG flame graph here")
    parser.add_argument("--raw", help="also keep py-spy's collapsed stacks here")
    args = parser.parse_args(argv)
    os.environ.setdefault("JWT_ACCESS_MINUTES", "120")
    os.environ["CACHE_KEY_PREFIX"] = BENCH_NAMESPACE
    from bench import loadgen

    users = int(args.seconds * 600) + 1000
    print(f"Preparing database {PROFILE_DB} and {users} users ...", flush=True)
    url, _dsn = harness.scratch_database(PROFILE_DB)
    harness.setup_django(url)
    data = fixtures(users)
    port = harness.free_port()
    host = f"127.0.0.1:{port}"
    server = start_bench_server(port=port, workers=1, database_url=url, server="granian")
    # A refusal leaves no trace, so sold-out requests may cycle through the users; a booking
    # needs a new one each time (and stops when they run out).
    tokens = itertools.cycle(data["tokens"]) if args.kind == "soldout" else iter(data["tokens"])
    type_id = data["sold_out"] if args.kind == "soldout" else data["open"]
    body = {"event": data["event"], "items": [{"ticket_type": type_id, "quantity": 1}]}
    trivial = loadgen.http_request("GET", "/bench/trivial/", host=host)

    if args.kind == "minimal":  # the floor: bench/urls.py's minimal booking endpoint
        next_booking = loadgen.bookings(
            tokens, host=host, body={"ticket_type": type_id}, path="/bench/minimal-booking/"
        )
    else:
        next_booking = loadgen.bookings(tokens, host=host, body=body)

    def next_trivial() -> bytes | None:
        return trivial

    next_request = next_trivial if args.kind == "trivial" else next_booking
    try:
        if args.kind in ("pay", "confirm"):
            # The holds to pay, as many as the profiled phase can use, made unprofiled.
            holds = loadgen.run_phase(
                "holds", clients=args.clients, duration=args.seconds + 3, port=port,
                requests=next_booking,
            )  # fmt: skip
            print(f"holds made first: {dict(holds.statuses)}", flush=True)
            from boxoffice.events.models import Event

            checkout = {**data, "event": Event.objects.get(pk=data["event"])}
            next_pay, webhooks = checkout_requests(checkout, host=host)
            next_request = next_pay
            if args.kind == "confirm":
                loadgen.run_phase(
                    "payments", clients=args.clients, duration=args.seconds + 3, port=port,
                    requests=next_pay,
                )  # fmt: skip
                next_request = webhooks()
        loadgen.run_phase(
            "warm-up", clients=args.clients, duration=3, port=port, requests=next_request
        )
        with tempfile.TemporaryDirectory() as tmp:
            raw_path = Path(tmp) / "stacks.txt"
            spy = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.pid)]
            spy += ["--subprocesses", "--rate", str(RATE), "--duration", str(int(args.seconds))]
            spy += ["--gil", "--nonblocking", "--format", "raw", "--output", str(raw_path)]
            recorder = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if args.flamegraph:
                svg = [*spy[:-4], "--format", "flamegraph", "--output", args.flamegraph]
                threading.Thread(target=subprocess.run, args=(svg,), daemon=True).start()
            time.sleep(0.5)
            phase = loadgen.run_phase(
                args.kind,
                clients=args.clients,
                duration=args.seconds - 1,
                port=port,
                requests=next_request,
            )
            recorder.wait(args.seconds + 30)
            if recorder.returncode:
                print(recorder.stderr.read().decode() if recorder.stderr else "", file=sys.stderr)
                return 1
            raw_text = raw_path.read_text()
            parts = parse(raw_text)
            if args.raw:
                Path(args.raw).write_text(raw_text)
    finally:
        harness.stop(server)
        clean_redis()
    total = sum(parts.values())
    requests = max(phase.requests, 1)
    # The recorder ran about as long as the load; samples per request scale to CPU ms.
    scale = (args.seconds - 1) / args.seconds
    print(
        f"\n{args.kind}: {phase.requests} requests in {phase.elapsed:.1f} s "
        f"({phase.rate():.0f}/s, statuses {dict(phase.statuses)}), one worker, "
        f"{args.clients} clients"
    )
    print(f"{'part':<42}{'share':>7}{'CPU ms/request':>16}")
    for name, samples in parts.most_common():
        ms = samples * scale / RATE / requests * 1000
        print(f"{name:<42}{samples / total:>7.1%}{ms:>16.2f}")
    print(f"{'total':<42}{1:>7.0%}{total * scale / RATE / requests * 1000:>16.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
