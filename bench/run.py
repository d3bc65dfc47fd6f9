"""`make bench`: a flash-sale load benchmark with the database ceiling measured in the same run.

1. Ceiling: the raw PostgreSQL rate for one booking as a single statement (bench/ceiling.py).
2. Flash sale: the production server (granian, as `make run` serves it) under a closed-loop load
   generator (bench/loadgen.py) at 64 and 256 clients, every request a distinct user booking one
   ticket of the same type (at 64 in turns with the same booking carrying a voucher, which must
   cost under 10 %, and with the floor: bench/urls.py's minimal booking endpoint, the lightest
   correct booking on the same stack); then checkout: the holds paid (payments started by 64
   buyers, confirmed by the fake PSP's signed webhooks); then the same booking on a type that is
   nearly sold out.
3. The door: check-ins of distinct valid tickets of one event by 64 gates at once.
4. Reads: the cached event list and detail against a trivial DRF endpoint, 64 clients.
5. The waiting room (bench/queue_sale.py): 5,000 visitors for 500 seats through an event's
   queue at 256 connections, beside the unqueued flash sale at 256; and a queue poll against the
   trivial endpoint at 64 clients.
6. Correctness: counters equal confirmed items, no oversell, the clients' 201s equal the rows,
   payments started and bookings paid equal what the clients saw, every ticket admitted at most
   once and one log entry per admission.

Prints a table and writes bench/results/<UTC date>.json. Runs on its own database
(`boxoffice_bench`, recreated on the same server as DATABASE_URL).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.queue_sale import spearman
from devtools import harness

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DB = "boxoffice_bench"
BENCH_NAMESPACE = f"boxoffice-bench-{os.getpid()}"
TARGETS = {
    "flash_64_vs_ceiling": 0.30,
    "flash_64_vs_trivial": 0.45,
    "sold_out_64_vs_trivial": 0.80,
    "voucher_64_vs_flash_64": 0.90,
    "flash_256_p99_ms": 800.0,
    "cached_list_vs_trivial": 0.60,
    "queued_booking_p99_ms": 250.0,
    "queue_poll_vs_trivial": 1.0,
}
QUEUE_TICK_SECONDS = 1


def make_fixtures(*, users: int, last_seats: int, queue_seats: int) -> dict[str, Any]:
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from rest_framework_simplejwt.tokens import AccessToken

    from boxoffice.accounts.models import Role, User
    from boxoffice.events.models import TicketType

    organizer = User.objects.create_user(
        "bench-organizer@example.com", "bench-organizer-pass-1", role=Role.ORGANIZER
    )
    rush, flash = harness.published_event(
        organizer=organizer, title="Flash sale", quantity=10**8, price="49.00", days_ahead=60
    )
    ceiling_event, ceiling_type = harness.published_event(
        organizer=organizer, title="Ceiling", quantity=10**8, price="49.00", days_ahead=60
    )
    types = {
        "flash": flash,
        "last64": TicketType.objects.create(
            event=rush, name="Last seats A", price=Decimal("99.00"), quantity=last_seats
        ),
        "last256": TicketType.objects.create(
            event=rush, name="Last seats B", price=Decimal("99.00"), quantity=last_seats
        ),
        "ceiling": ceiling_type,
    }
    unusable = make_password(None)
    batch = [
        User(email=f"bench-{i}@example.com", password=unusable, first_name="Bench")
        for i in range(users)
    ]
    User.objects.bulk_create(batch, batch_size=5000)
    tokens = [str(AccessToken.for_user(user)) for user in batch]
    door_event, door_codes = door_fixtures(organizer=organizer, tickets=users // 2)
    from boxoffice.events.vouchers import voucher_create

    voucher_create(
        event=rush, code="BENCH", discount_type="percent", value=Decimal(10), max_uses=10**8
    )
    queued, queued_type = harness.published_event(
        organizer=organizer, title="Queued sale", quantity=queue_seats, price="49.00", days_ahead=60
    )
    return {
        "queued_event": queued,
        "queued_type": queued_type,
        "event": rush,
        "ceiling_event": ceiling_event,
        "types": types,
        "tokens": tokens,
        "user_ids": [user.pk for user in batch],
        "organizer": organizer,
        "organizer_token": str(AccessToken.for_user(organizer)),
        "door_event": door_event,
        "door_codes": door_codes,
    }


def door_fixtures(*, organizer: Any, tickets: int) -> tuple[Any, list[str]]:
    """An event with `tickets` valid tickets, ten per confirmed booking (seeded directly)."""
    from django.utils import timezone

    from boxoffice.bookings.codes import booking_reference, ticket_code
    from boxoffice.bookings.models import Booking, BookingItem, BookingStatus, Ticket

    event, ticket_type = harness.published_event(
        organizer=organizer, title="Door", quantity=tickets, price="0.00", days_ahead=60
    )
    now = timezone.now()
    per_booking = 10
    bookings = [
        Booking(
            reference=booking_reference(),
            user=organizer,
            event=event,
            status=BookingStatus.CONFIRMED,
            total_amount=0,
            currency="EUR",
            confirmed_at=now,
        )
        for _ in range(tickets // per_booking)
    ]
    Booking.objects.bulk_create(bookings, batch_size=5000)
    BookingItem.objects.bulk_create(
        [
            BookingItem(
                booking=b,
                ticket_type=ticket_type,
                quantity=per_booking,
                unit_price=0,
                original_price=0,
            )
            for b in bookings
        ],
        batch_size=5000,
    )
    rows = [
        Ticket(booking=b, ticket_type=ticket_type, code=ticket_code())
        for b in bookings
        for _ in range(per_booking)
    ]
    Ticket.objects.bulk_create(rows, batch_size=5000)
    sold = len(rows)
    type(event).objects.filter(pk=event.pk).update(tickets_sold=sold)
    type(ticket_type).objects.filter(pk=ticket_type.pk).update(quantity_sold=sold)
    return event, [row.code for row in rows]


def start_bench_server(
    *, port: int, workers: int, database_url: str, server: str, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    return harness.start_server(
        port=port,
        workers=workers,
        database_url=database_url,
        server=server,
        cwd=cwd,
        DJANGO_ROOT_URLCONF="bench.urls",
        EMAIL_URL="dummymail://",
        # Without a broker, leave emails to the relay instead of rendering them in the request.
        OUTBOX_DISPATCH="celery" if os.environ.get("REDIS_URL") else "relay",
        # A queue and key prefix of its own, removed afterwards: nothing is left in a shared Redis.
        CELERY_QUEUE=BENCH_NAMESPACE,
        CACHE_KEY_PREFIX=BENCH_NAMESPACE,
        # Checkout pays with the fake PSP, whose signed webhooks the bench sends itself.
        PAYMENTS_FAKE="true",
        PAYMENTS_FAKE_WEBHOOK_SECRET=PSP_SECRET,
        **{f"THROTTLE_{scope}": "100000000/min" for scope in ("ANON", "USER", "BOOKING")},
    )


PSP_SECRET = "whsec_bench_fake_psp"  # noqa: S105 - the bench's own fake PSP, not a credential


def checkout_requests(
    fixtures: dict[str, Any], *, host: str
) -> tuple[Callable[[], bytes | None], Callable[[], Callable[[], bytes | None]]]:
    """The holds made so far, paid: each buyer starts a payment with the fake PSP
    (`POST /bookings/{id}/pay/`), then the PSP confirms each payment with a signed
    `payment.succeeded` webhook, as it would once the buyer paid. The second callable builds the
    webhooks from the payments the first phase started."""
    import json

    from bench import loadgen
    from boxoffice.bookings.models import Booking, BookingStatus
    from boxoffice.payments.models import Payment
    from boxoffice.payments.providers import fake_signature

    token_of = dict(zip(fixtures["user_ids"], fixtures["tokens"], strict=True))
    holds = iter(
        Booking.objects.filter(event=fixtures["event"], status=BookingStatus.PENDING)
        .order_by("created_at")
        .values_list("pk", "user_id")
    )

    def next_pay() -> bytes | None:
        hold = next(holds, None)
        if hold is None:
            return None
        return loadgen.http_request(
            "POST",
            f"/api/v1/bookings/{hold[0]}/pay/",
            host=host,
            body={"provider": "fake"},
            token=token_of[hold[1]],
        )

    def webhooks() -> Callable[[], bytes | None]:
        started = iter(
            Payment.objects.filter(booking__event=fixtures["event"])
            .order_by("created_at")
            .values_list("pk", "amount", "currency")
        )

        def next_webhook() -> bytes | None:
            payment = next(started, None)
            if payment is None:
                return None
            pk, amount, currency = payment
            body = json.dumps(
                {
                    "id": f"evt_bench_{pk.hex}",
                    "type": "payment.succeeded",
                    "created": int(time.time()),
                    "data": {"payment_id": str(pk), "amount": str(amount), "currency": currency},
                }
            ).encode()
            return loadgen.http_request(
                "POST",
                "/api/v1/payments/webhooks/fake/",
                host=host,
                raw_body=body,
                headers={"Fake-Signature": fake_signature(body, secret=PSP_SECRET)},
            )

        return next_webhook

    return next_pay, webhooks


def clean_redis() -> None:
    if not os.environ.get("REDIS_URL"):
        return
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for key in client.scan_iter(match=f"*{BENCH_NAMESPACE}*", count=1000):
        client.delete(key)


def correctness(
    fixtures: dict[str, Any],
    created: int,
    admitted: int,
    *,
    queued: int,
    paid: int,
    psp_confirmed: int,
) -> dict[str, Any]:
    from django.db.models import Sum

    from boxoffice.bookings.models import (
        LIVE_STATUSES,
        Booking,
        BookingItem,
        BookingStatus,
        Ticket,
    )
    from boxoffice.door.models import CheckIn, CheckInAction
    from boxoffice.payments.models import Payment, PaymentStatus

    event = fixtures["event"]
    event.refresh_from_db()
    # Paid tickets are holds until paid: they count as sold (pending + confirmed).
    confirmed = BookingItem.objects.filter(booking__status__in=LIVE_STATUSES)
    problems = []
    for key, ticket_type in fixtures["types"].items():
        ticket_type.refresh_from_db()
        held = confirmed.filter(ticket_type=ticket_type).aggregate(n=Sum("quantity"))["n"] or 0
        if held != ticket_type.quantity_sold:
            problems.append(f"{key}: counter {ticket_type.quantity_sold} != confirmed items {held}")
        if held > ticket_type.quantity:
            problems.append(f"{key}: oversold {held} > {ticket_type.quantity}")
    event_items = confirmed.filter(booking__event=event).aggregate(n=Sum("quantity"))["n"] or 0
    if event_items != event.tickets_sold:
        problems.append(f"event counter {event.tickets_sold} != confirmed items {event_items}")
    from boxoffice.events.models import Voucher

    for voucher in Voucher.objects.filter(event=event):
        held = (
            Booking.objects.filter(voucher=voucher, status__in=LIVE_STATUSES).aggregate(
                n=Sum("voucher_uses")
            )["n"]
            or 0
        )
        if held != voucher.uses:
            problems.append(f"voucher {voucher.code}: uses {voucher.uses} != live bookings {held}")
    rows = Booking.objects.filter(event=event).count()
    if rows != created:
        problems.append(f"clients saw {created} bookings created, the database holds {rows}")
    queued_type = fixtures["queued_type"]
    queued_type.refresh_from_db()
    queued_rows = Booking.objects.filter(event=fixtures["queued_event"]).count()
    queued_held = confirmed.filter(ticket_type=queued_type).aggregate(n=Sum("quantity"))["n"] or 0
    if not queued_rows == queued == queued_held == queued_type.quantity_sold:
        problems.append(
            f"queued sale: clients saw {queued} bookings, {queued_rows} rows, {queued_held} "
            f"tickets held, counter {queued_type.quantity_sold}"
        )
    if queued_held > queued_type.quantity:
        problems.append(f"queued sale: oversold {queued_held} > {queued_type.quantity}")
    payments = Payment.objects.filter(booking__event=event)
    succeeded = payments.filter(status=PaymentStatus.SUCCEEDED).count()
    now_confirmed = Booking.objects.filter(
        event=event, status=BookingStatus.CONFIRMED, payments__status=PaymentStatus.SUCCEEDED
    ).count()
    if payments.count() != paid or not succeeded == now_confirmed == psp_confirmed:
        problems.append(
            f"checkout: buyers saw {paid} payments started, {payments.count()} rows; the PSP "
            f"saw {psp_confirmed} confirmed, {succeeded} payments succeeded, {now_confirmed} "
            "bookings paid"
        )
    door = fixtures["door_event"]
    checked_in = Ticket.objects.filter(booking__event=door, checked_in_at__isnull=False).count()
    logged = CheckIn.objects.filter(event=door, action=CheckInAction.CHECK_IN).count()
    if not checked_in == logged == admitted:
        problems.append(
            f"door: gates saw {admitted} admissions, {checked_in} tickets are checked in, "
            f"{logged} check-ins logged"
        )
    return {
        "ok": not problems,
        "problems": problems,
        "bookings": rows,
        "tickets_sold": event.tickets_sold,
        "checked_in": checked_in,
    }


def queued_sale(
    fixtures: dict[str, Any], *, port: int, visitors: int, smoke: bool
) -> tuple[Any, list[Any]]:
    """The waiting-room scenario on its own event: the queue opens a few seconds after the
    first visitors arrive; each admission books one ticket."""
    from datetime import timedelta

    from django.utils import timezone

    from bench.queue_sale import run_sale

    opens_in = 3.0 if smoke else 8.0
    event = fixtures["queued_event"]
    type(event).objects.filter(pk=event.pk).update(
        queue_enabled=True,
        queue_rate_per_minute=1500,
        queue_opens_at=timezone.now() + timedelta(seconds=opens_in),
    )
    event.refresh_from_db()
    jwts = fixtures["tokens"][-visitors:]
    seconds = 25.0 if smoke else 60.0
    print(
        f"Phase queued sale: {visitors} visitors for {fixtures['queued_type'].quantity} seats, "
        f"256 connections, {seconds:.0f} s ...",
        flush=True,
    )
    return run_sale(
        port=port,
        event_id=str(event.pk),
        type_id=str(fixtures["queued_type"].pk),
        jwts=jwts,
        opens_in=opens_in,
        duration=seconds,
        clients=256,
        tick_seconds=QUEUE_TICK_SECONDS,
    )


def admission_keys(event: Any, visitors: list[Any]) -> list[float]:
    """Each visitor's admission order as the store has it: the admission time (the pass's
    deadline minus a constant), or, for those still in line, after everyone admitted in the
    order of their place."""
    from boxoffice.waitingroom.store import queue_store

    keys = []
    for visitor in visitors:
        place = queue_store().place(event_id=event.pk, token=visitor.token)
        if place is None:
            keys.append(float("inf"))
        elif place.admitted_until is not None:
            keys.append(place.admitted_until)
        else:
            keys.append(1e12 + (place.rank or 0))
    return keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="a seconds-long run for CI")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per phase")
    # 2 x cores - 1 measured best on the 2-core machine (bench/README.md: 3 beat 4, 6 and 8).
    default_workers = max(2, 2 * (os.cpu_count() or 1) - 1)
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", str(default_workers)))
    )
    parser.add_argument(
        "--server",
        choices=["granian", "gunicorn"],
        default="granian",
        help="granian (production, as make run) or gunicorn sync workers (round 1, to compare)",
    )
    parser.add_argument("--users", type=int, default=0, help="distinct users to create")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    duration = 3.0 if args.smoke else args.duration
    users = args.users or (8000 if args.smoke else 90000)
    queue_visitors = 300 if args.smoke else 5000
    # The scheduler ticks every second here (it runs in this process); tokens outlive the run.
    os.environ.setdefault("QUEUE_TICK_SECONDS", str(QUEUE_TICK_SECONDS))
    os.environ.setdefault("JWT_ACCESS_MINUTES", "120")
    os.environ["CACHE_KEY_PREFIX"] = BENCH_NAMESPACE
    from bench import ceiling as ceiling_mod
    from bench import loadgen

    print(f"Preparing database {BENCH_DB} and {users} users ...", flush=True)
    bench_url, bench_dsn = harness.scratch_database(BENCH_DB)
    harness.setup_django(bench_url)
    fixtures = make_fixtures(users=users, last_seats=50, queue_seats=30 if args.smoke else 500)
    tokens: list[str] = fixtures["tokens"]
    types = fixtures["types"]
    event_id = str(fixtures["event"].pk)

    def measure_ceilings() -> tuple[float, float]:
        print("Ceiling: raw single-statement bookings from 64 connections ...", flush=True)
        minimal = ceiling_mod.ceiling(
            bench_dsn,
            ticket_type=str(types["ceiling"].pk),
            user=str(fixtures["organizer"].pk),
            connections=64,
            duration=duration,
        )
        print("Statement ceiling: Boxoffice's booking statement, 64 connections ...", flush=True)
        own = ceiling_mod.statement_ceiling(
            bench_dsn,
            event=fixtures["ceiling_event"],
            ticket_type=types["ceiling"],
            user=fixtures["organizer"],
            connections=64,
            duration=duration,
        )
        return minimal, own

    # Measured before and after the load, since the machine's speed drifts within a run.
    ceilings, statement_ceilings = map(list, zip(measure_ceilings(), strict=True))

    port = harness.free_port()
    host = f"127.0.0.1:{port}"
    server = start_bench_server(
        port=port, workers=args.workers, database_url=bench_url, server=args.server
    )
    phases: list[loadgen.Phase] = []
    try:
        pool = iter(tokens)  # every booking request is a distinct user
        # The sold-out phases may run through users again: a refusal leaves nothing behind.
        again = itertools.cycle(tokens)

        def booking_phase(
            name: str,
            clients: int,
            type_key: str,
            *,
            voucher: str | None = None,
            seconds: float | None = None,
            record: bool = True,
        ) -> loadgen.Phase:
            body: dict[str, Any] = {
                "event": event_id,
                "items": [{"ticket_type": str(types[type_key].pk), "quantity": 1}],
            }
            if voucher:
                body["voucher"] = voucher

            next_request = loadgen.bookings(
                again if type_key.startswith("last") else pool, host=host, body=body
            )
            length = seconds or duration
            print(f"Phase {name}: {clients} clients, {length:.0f} s ...", flush=True)
            phase = loadgen.run_phase(
                name, clients=clients, duration=length, port=port, requests=next_request
            )
            if record:
                phases.append(phase)
            return phase

        def minimal_phase(seconds: float) -> loadgen.Phase:
            """The floor: bench/urls.py's minimal booking endpoint (same stack, the minimal
            statement) on the ceiling's type, every request a distinct user."""
            print(f"Phase minimal booking endpoint: 64 clients, {seconds:.0f} s ...", flush=True)
            return loadgen.run_phase(
                "minimal booking endpoint", clients=64, duration=seconds, port=port,
                requests=loadgen.bookings(
                    pool, host=host, body={"ticket_type": str(types["ceiling"].pk)},
                    path="/bench/minimal-booking/",
                ),
            )  # fmt: skip

        def alternating(rounds: int = 3) -> tuple[loadgen.Phase, loadgen.Phase, loadgen.Phase]:
            """The plain booking, the voucher booking and the minimal booking endpoint in turns
            (a third of the time each, three times), so the machine's drift and the hot rows'
            growing dead versions weigh on all alike; each kind's rounds are summed into one
            phase."""
            plain, with_voucher, minimal = [], [], []
            for _ in range(rounds):
                share = duration / rounds
                plain.append(booking_phase("flash sale", 64, "flash", seconds=share, record=False))
                with_voucher.append(
                    booking_phase(
                        "+ voucher", 64, "flash", voucher="BENCH", seconds=share, record=False
                    )
                )
                minimal.append(minimal_phase(share))
            merged = (
                loadgen.merge("flash sale", plain),
                loadgen.merge("flash sale + voucher", with_voucher),
                loadgen.merge("minimal booking endpoint", minimal),
            )
            phases.extend(merged)
            return merged

        booking_phase("warm-up", 16, "flash")
        flash64, voucher64, floor64 = alternating()
        flash256 = booking_phase("flash sale", 256, "flash")
        next_pay, webhooks = checkout_requests(fixtures, host=host)
        print(f"Phase checkout: 64 buyers start payments, {duration:.0f} s ...", flush=True)
        pay = loadgen.run_phase(
            "checkout: pay", clients=64, duration=duration, port=port, requests=next_pay
        )
        print(f"Phase checkout: 64 PSP webhooks confirm, {duration:.0f} s ...", flush=True)
        confirm = loadgen.run_phase(
            "checkout: PSP confirms", clients=64, duration=duration, port=port, requests=webhooks()
        )
        phases += [pay, confirm]
        sold_out64 = booking_phase("nearly sold out", 64, "last64")
        booking_phase("nearly sold out", 256, "last256")
        sale, visitors = queued_sale(fixtures, port=port, visitors=queue_visitors, smoke=args.smoke)
        # Read from the store before the bench's keys are cleaned away.
        early = [v for v in visitors if v.joined_early]
        sale.early_rho = spearman(
            [v.join_at for v in early], admission_keys(fixtures["queued_event"], early)
        )

        def read_phase(name: str, path: str) -> loadgen.Phase:
            raw = loadgen.http_request("GET", path, host=host)
            print(f"Phase {name}: 64 clients, {duration:.0f} s ...", flush=True)
            phase = loadgen.run_phase(
                name, clients=64, duration=duration, port=port, requests=lambda: raw
            )
            phases.append(phase)
            return phase

        codes = iter(fixtures["door_codes"])
        checkin_path = f"/api/v1/events/{fixtures['door_event'].pk}/checkins/"

        def next_checkin() -> bytes | None:
            code = next(codes, None)
            if code is None:
                return None
            return loadgen.http_request(
                "POST",
                checkin_path,
                host=host,
                body={"code": code},
                token=fixtures["organizer_token"],
            )

        print(f"Phase door: 64 gates, {duration:.0f} s ...", flush=True)
        door = loadgen.run_phase(
            "door check-ins", clients=64, duration=duration, port=port, requests=next_checkin
        )
        phases.append(door)

        trivial = read_phase("trivial DRF endpoint", "/bench/trivial/")
        poller = next(v for v in visitors if v.token)
        poll_raw = loadgen.http_request(
            "GET",
            f"/api/v1/events/{fixtures['queued_event'].pk}/queue/{poller.token}/",
            host=host,
            token=poller.jwt,
        )
        print(f"Phase queue poll: 64 clients, {duration:.0f} s ...", flush=True)
        poll = loadgen.run_phase(
            "queue poll", clients=64, duration=duration, port=port, requests=lambda: poll_raw
        )
        phases.append(poll)
        listing = read_phase("cached event list", "/api/v1/events/")
        detail = read_phase("cached event detail", f"/api/v1/events/{event_id}/")
    finally:
        harness.stop(server)
    clean_redis()
    minimal_after, statement_after = measure_ceilings()
    ceilings.append(minimal_after)
    statement_ceilings.append(statement_after)
    ceiling_64 = sum(ceilings) / len(ceilings)
    statement_64 = sum(statement_ceilings) / len(statement_ceilings)

    # The minimal endpoint books on the ceiling's event, outside the sale that is counted.
    created = sum(p.statuses[201] for p in phases if p not in (door, pay, confirm, floor64))
    check = correctness(
        fixtures,
        created,
        door.statuses[201],
        queued=sale.bookings.statuses[201],
        paid=pay.statuses[201],
        psp_confirmed=confirm.statuses[200],
    )
    ratios = {
        "flash_64_vs_ceiling": round(flash64.rate(201) / ceiling_64, 3) if ceiling_64 else 0.0,
        "flash_64_vs_trivial": round(flash64.rate(201) / trivial.rate(), 3)
        if trivial.rate()
        else 0.0,
        "sold_out_64_vs_trivial": round(sold_out64.rate() / trivial.rate(), 3)
        if trivial.rate()
        else 0.0,
        "statement_ceiling_vs_minimal": round(statement_64 / ceiling_64, 3) if ceiling_64 else 0.0,
        # The floor over HTTP (issue 18): the lightest correct booking endpoint on this stack.
        "minimal_endpoint_64_vs_trivial": round(floor64.rate(201) / trivial.rate(), 3)
        if trivial.rate()
        else 0.0,
        "flash_64_vs_minimal_endpoint": round(flash64.rate(201) / floor64.rate(201), 3)
        if floor64.rate(201)
        else 0.0,
        "voucher_64_vs_flash_64": round(voucher64.rate(201) / flash64.rate(201), 3)
        if flash64.rate(201)
        else 0.0,
        "flash_256_p99_ms": flash256.percentile(0.99),
        "cached_list_vs_trivial": round(listing.rate() / trivial.rate(), 3)
        if trivial.rate()
        else 0.0,
        "cached_detail_vs_trivial": round(detail.rate() / trivial.rate(), 3)
        if trivial.rate()
        else 0.0,
        "queued_booking_p99_ms": sale.bookings.percentile(0.99),
        "queue_poll_vs_trivial": round(poll.rate() / trivial.rate(), 3) if trivial.rate() else 0.0,
        "queued_early_rank_correlation": round(sale.early_rho or 0.0, 3),
        "queued_early_joiners": sum(1 for v in visitors if v.joined_early),
        # Checkout (issue 18): holds are the flash sale's 201s; each is a booking once paid.
        "holds_per_s_64": round(flash64.rate(201), 1),
        "payments_started_per_s_64": round(pay.rate(201), 1),
        "confirms_per_s_64": round(confirm.rate(200), 1),
        "checkins_per_s_64": round(door.rate(201), 1),
        "checkins_64_vs_flash_64": round(door.rate(201) / flash64.rate(201), 3)
        if flash64.rate(201)
        else 0.0,
    }
    met = {
        "flash_64_vs_ceiling": ratios["flash_64_vs_ceiling"] >= TARGETS["flash_64_vs_ceiling"],
        "voucher_64_vs_flash_64": ratios["voucher_64_vs_flash_64"]
        >= TARGETS["voucher_64_vs_flash_64"],
        "flash_64_vs_trivial": ratios["flash_64_vs_trivial"] >= TARGETS["flash_64_vs_trivial"],
        "sold_out_64_vs_trivial": ratios["sold_out_64_vs_trivial"]
        >= TARGETS["sold_out_64_vs_trivial"],
        "flash_256_p99_ms": ratios["flash_256_p99_ms"] < TARGETS["flash_256_p99_ms"],
        "cached_list_vs_trivial": ratios["cached_list_vs_trivial"]
        >= TARGETS["cached_list_vs_trivial"],
        "queued_booking_p99_ms": ratios["queued_booking_p99_ms"] < TARGETS["queued_booking_p99_ms"],
        "queue_poll_vs_trivial": ratios["queue_poll_vs_trivial"]
        >= TARGETS["queue_poll_vs_trivial"],
        "queued_fair": abs(ratios["queued_early_rank_correlation"]) < 0.1,
        "queued_every_visitor_accounted": sale.outcomes["error"] == 0 and sale.outcomes["new"] == 0,
        "zero_errors": sum(p.server_errors for p in phases) == 0
        and all(p.server_errors == 0 for p in (sale.bookings, sale.polls, sale.joins)),
        "zero_oversell": check["ok"],
    }
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "smoke": args.smoke,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "config": {
            "server": f"{args.server}, {args.workers} workers",
            "seconds_per_phase": duration,
            "cache": "redis" if os.environ.get("REDIS_URL") else "local-memory",
            "outbox_dispatch": "celery" if os.environ.get("REDIS_URL") else "relay",
            "database": "external" if "127.0.0.1" in os.environ["DATABASE_URL"] else "embedded",
        },
        "ceiling": {
            "connections": 64,
            "bookings_per_s": round(ceiling_64, 1),
            "before_and_after": [round(c, 1) for c in ceilings],
            "statement_bookings_per_s": round(statement_64, 1),
            "statement_before_and_after": [round(c, 1) for c in statement_ceilings],
        },
        "phases": [p.summary() for p in phases],
        "queued_sale": sale.summary(),
        "ratios": ratios,
        "targets": TARGETS,
        "met": met,
        "correctness": check,
    }
    print_table(report)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        name = datetime.now(UTC).strftime("%Y-%m-%d") + ("-smoke" if args.smoke else "") + ".json"
        (RESULTS / name).write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"\nWrote {RESULTS / name}")
    return 0 if check["ok"] and met["zero_errors"] else 1


def print_table(report: dict[str, Any]) -> None:
    print()
    ceiling = report["ceiling"]
    runs = " and ".join(f"{c:.0f}" for c in ceiling["before_and_after"])
    print(
        f"Ceiling (raw single statement, 64 connections): {ceiling['bookings_per_s']:.0f} "
        f"bookings/s (mean of {runs}, before and after the load)"
    )
    if "statement_bookings_per_s" in ceiling:
        own = " and ".join(f"{c:.0f}" for c in ceiling["statement_before_and_after"])
        print(
            f"Boxoffice's booking statement, 64 connections: "
            f"{ceiling['statement_bookings_per_s']:.0f} bookings/s (mean of {own})"
        )
    header = (
        f"{'phase':<22}{'clients':>8}{'req/s':>9}{'201/s':>8}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'5xx+err':>9}  statuses"
    )
    print(header)
    print("-" * len(header))
    for p in report["phases"]:
        print(
            f"{p['name']:<22}{p['clients']:>8}{p['requests_per_s']:>9.0f}{p['created_per_s']:>8.0f}"
            f"{p['p50_ms']:>9.1f}{p['p95_ms']:>9.1f}{p['p99_ms']:>9.1f}"
            f"{p['server_errors']:>9}  {p['statuses']}"
        )
    sale = report.get("queued_sale")
    if sale:
        print(f"\nqueued sale ({sale['seconds']} s): outcomes {sale['outcomes']}")
        for kind in ("joins", "polls", "bookings"):
            p = sale[kind]
            print(
                f"  {kind:<10}{p['requests']:>7} requests  p50 {p['p50_ms']:.1f} ms  "
                f"p99 {p['p99_ms']:.1f} ms  5xx+err {p['server_errors']}  {p['statuses']}"
            )
    print()
    for key, value in report["ratios"].items():
        target = report["targets"].get(key)
        mark = (
            ""
            if target is None
            else ("  met" if report["met"].get(key) else "  NOT met") + f" (target {target})"
        )
        print(f"{key:<32}{value}{mark}")
    correctness = report["correctness"]
    print(f"{'correctness':<32}{'ok' if correctness['ok'] else correctness['problems']}")


if __name__ == "__main__":
    sys.exit(main())
