"""The waiting room through HTTP and its store: joining (idempotent, dense positions, early
joiners shuffled), polling, the scheduler's rate and active limit, one tick per interval, the
pass a booking needs (forged, expired, another user's or event's, used up), and a store that
is down (503, nothing sold unmetered).

Without REDIS_URL the queue runs on PostgreSQL (`DatabaseQueueStore`); the CI's second pass sets
REDIS_URL and runs every test here again on Redis (`RedisQueueStore`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.conf import settings
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Booking
from boxoffice.events.models import Event, TicketType
from boxoffice.outbox.registry import outbox_periodic_jobs
from boxoffice.waitingroom import store as store_module
from boxoffice.waitingroom.models import QueueEntry, QueueState
from boxoffice.waitingroom.serializers import QueueStatusSerializer, queue_status_body
from boxoffice.waitingroom.services import (
    PASS_SALT,
    QueueStatus,
    queue_config,
    queue_events_forget,
    queue_tick_all,
)
from boxoffice.waitingroom.store import (
    DatabaseQueueStore,
    QueueUnavailable,
    RedisQueueStore,
    queue_store,
    queue_store_reset,
)
from tests.bookings.races import client, run_concurrently
from tests.conftest import EXTERNAL, assert_problem
from tests.factories import EventFactory, TicketTypeFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_store() -> Iterator[None]:
    queue_store_reset()
    queue_events_forget()
    yield
    queue_store_reset()
    queue_events_forget()


@pytest.fixture
def queued(db: None) -> Event:
    return EventFactory(queue_enabled=True, queue_rate_per_minute=60)


@pytest.fixture
def seat(queued: Event) -> TicketType:
    return TicketTypeFactory(event=queued, quantity=10)


def join(api: APIClient, event: Event) -> Any:
    return api.post(f"/api/v1/events/{event.pk}/queue/")


def status(api: APIClient, event: Event, token: str) -> Any:
    return api.get(f"/api/v1/events/{event.pk}/queue/{token}/")


def book(api: APIClient, seat: TicketType, queue_pass: str | None = None, n: int = 1) -> Any:
    headers = {"Queue-Pass": queue_pass} if queue_pass is not None else None
    body = {"event": str(seat.event_id), "items": [{"ticket_type": str(seat.pk), "quantity": n}]}
    return api.post("/api/v1/bookings/", body, format="json", headers=headers)


_clock = [time.time()]


def tick_until_admitted(event: Event, *, ticks: int = 50) -> None:
    """Scheduler ticks at simulated 5 s steps, each call later than the one before (admissions
    get future deadlines, so their passes are good now)."""
    config = queue_config(event)
    _clock[0] = max(_clock[0], time.time()) + ticks * config.tick_seconds
    for step in range(ticks):
        queue_store().tick(config=config, now=_clock[0] + step * config.tick_seconds)


def admitted_pass(api: APIClient, event: Event) -> str:
    token = join(api, event).json()["token"]
    tick_until_admitted(event)
    body = status(api, event, token).json()
    assert body["state"] == "admitted", body
    return str(body["pass"])


@pytest.mark.django_db
class TestJoin:
    def test_join_is_idempotent_and_positions_are_dense(self, queued: Event) -> None:
        users = [client(UserFactory()) for _ in range(5)]
        first = [join(api, queued) for api in users]
        assert [r.status_code for r in first] == [201] * 5
        assert [r.json()["position"] for r in first] == [1, 2, 3, 4, 5]
        assert all(r.json()["state"] == "waiting" for r in first)
        again = join(users[2], queued)
        assert again.status_code == 200
        assert again.json()["token"] == first[2].json()["token"]
        assert again.json()["position"] == 3
        polled = status(users[2], queued, first[2].json()["token"]).json()
        assert polled["position"] == 3
        assert polled["estimated_wait_seconds"] == 3
        assert 2 <= polled["poll_after_seconds"] <= 30

    def test_another_users_or_unknown_token_is_404(
        self, client_for: Any, attendee: User, other_attendee: User, queued: Event
    ) -> None:
        token = join(client_for(attendee), queued).json()["token"]
        assert_problem(status(client_for(other_attendee), queued, token), 404, "not_found")
        assert_problem(status(client_for(attendee), queued, "x" * 32), 404, "not_found")
        other_event = EventFactory(queue_enabled=True)
        assert_problem(status(client_for(attendee), other_event, token), 404, "not_found")

    def test_no_queue_is_409_and_anonymous_is_401(
        self, client_for: Any, attendee: User, event: Event, queued: Event
    ) -> None:
        assert_problem(join(client_for(attendee), event), 409, "queue_not_enabled")
        assert join(APIClient(), queued).status_code == 401
        token = join(client_for(attendee), queued).json()["token"]
        assert status(APIClient(), queued, token).status_code == 401

    def test_early_joiners_are_told_to_ask_again_about_when_their_turn_comes(self) -> None:
        # 60 early joiners at 60 a minute: the last in the drawn order is a minute away from
        # its turn, the first a second: their first polls after the opening follow that order.
        opens_at = timezone.now() + timedelta(seconds=15)
        event = EventFactory(queue_enabled=True, queue_rate_per_minute=60, queue_opens_at=opens_at)
        visitors = [client(UserFactory()) for _ in range(60)]
        tokens = [join(api, event).json()["token"] for api in visitors]
        polls = []
        for api, t in zip(visitors, tokens, strict=True):
            poll = status(api, event, t).json()["poll_after_seconds"]
            # Nobody is told to ask before the opening, measured from when the answer came (a
            # slow machine may spend seconds creating the visitors: the opening draws nearer).
            assert poll >= (opens_at - timezone.now()).total_seconds()
            polls.append(poll)
        assert max(polls) <= 15 + 1 + 30 * 1.1
        Event.objects.filter(pk=event.pk).update(queue_opens_at=timezone.now())
        queue_events_forget()
        queue_store().tick(config=queue_config(Event.objects.get(pk=event.pk)), now=time.time())
        positions = [
            status(api, event, t).json()["position"] or 0
            for api, t in zip(visitors, tokens, strict=True)
        ]
        assert _spearman(polls, positions) > 0.8

    def test_the_queue_must_open_before_the_event_starts(
        self, client_for: Any, organizer: User
    ) -> None:
        event = EventFactory(organizer=organizer)
        late = (event.start_time + timedelta(minutes=1)).isoformat()
        response = client_for(organizer).patch(
            f"/api/v1/events/{event.pk}/", {"queue_opens_at": late}, format="json"
        )
        body = assert_problem(response, 400, "invalid")
        assert "queue_opens_at" in body["errors"]
        early = (event.start_time - timedelta(days=1)).isoformat()
        response = client_for(organizer).patch(
            f"/api/v1/events/{event.pk}/",
            {"queue_opens_at": early, "queue_enabled": True, "queue_rate_per_minute": 600},
            format="json",
        )
        assert response.status_code == 200
        assert response.json()["queue_rate_per_minute"] == 600

    def test_early_joiners_are_shuffled_and_later_ones_follow_in_order(self) -> None:
        event = EventFactory(queue_enabled=True, queue_opens_at=timezone.now() + timedelta(hours=1))
        early = [client(UserFactory()) for _ in range(150)]
        tokens = []
        for api in early:
            body = join(api, event).json()
            assert body["position"] is None  # not known before the opening
            assert body["opens_at"] is not None
            tokens.append(body["token"])
        Event.objects.filter(pk=event.pk).update(queue_opens_at=timezone.now())
        event.refresh_from_db()
        queue_events_forget()  # as the processes' copies do after QUEUE_EVENT_CACHE_SECONDS
        queue_tick_all()  # tells the store the queue opened (and admits its first few)
        late = [client(UserFactory()) for _ in range(3)]
        late_positions = [join(api, event).json()["position"] for api in late]
        positions = [
            status(api, event, t).json()["position"] for api, t in zip(early, tokens, strict=True)
        ]
        waiting = [p for p in positions if p is not None]
        admitted = len(positions) - len(waiting)
        assert sorted(waiting) == list(range(1, len(waiting) + 1))
        assert late_positions == [len(waiting) + 1, len(waiting) + 2, len(waiting) + 3]
        # Admission order against join order: Spearman's rho near 0 (a first-come line is 1.0).
        order = [(p if p is not None else 0) for p in positions]
        assert _spearman(list(range(len(order))), order) == pytest.approx(0, abs=0.3), admitted


@pytest.mark.parametrize("state", ["waiting", "early", "admitted", "expired"])
def test_the_lean_status_body_is_what_the_serializer_documents(state: str) -> None:
    now = timezone.now()
    status = {
        "waiting": QueueStatus("t", "waiting", 3, 2, None, 3),
        "early": QueueStatus("t", "waiting", None, 9, now + timedelta(minutes=3), 180),
        "admitted": QueueStatus(
            "t", "admitted", None, 60, now, 0, queue_pass="p", pass_expires_at=now
        ),
        "expired": QueueStatus("t", "expired", None, None, now, None),
    }[state]
    assert queue_status_body(status) == QueueStatusSerializer(status).data


def _spearman(xs: list[int], ys: list[int]) -> float:
    def ranks(values: list[int]) -> list[float]:
        ordered = sorted(range(len(values)), key=lambda i: values[i])
        result = [0.0] * len(values)
        for rank, index in enumerate(ordered):
            result[index] = float(rank)
        return result

    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mean = (n - 1) / 2
    cov = sum((a - mean) * (b - mean) for a, b in zip(rx, ry, strict=True))
    var = sum((a - mean) ** 2 for a in rx)
    return cov / var


@pytest.mark.django_db
class TestScheduler:
    def test_admissions_never_exceed_the_rate_in_any_minute(self) -> None:
        event = EventFactory(queue_enabled=True, queue_rate_per_minute=12, queue_active_limit=100)
        for _ in range(40):
            join(client(UserFactory()), event)
        config = queue_config(event)
        start = time.time()
        admitted_at: list[float] = []
        for step in range(48):  # four minutes of ticks, every 5 s
            now = start + step * 5
            admitted_at += [now] * (queue_store().tick(config=config, now=now) or 0)
        assert len(admitted_at) == 40
        for t in admitted_at:
            assert len([a for a in admitted_at if t <= a < t + 60]) <= 12
        assert queue_store().stats(event_id=event.pk, now=start + 235).waiting == 0

    def test_the_active_limit_waits_for_admitted_people_to_finish_or_expire(self) -> None:
        event = EventFactory(queue_enabled=True, queue_rate_per_minute=600, queue_active_limit=3)
        users = [client(UserFactory()) for _ in range(10)]
        tokens = [join(api, event).json()["token"] for api in users]
        config = queue_config(event)
        store = queue_store()
        start = time.time()
        assert [store.tick(config=config, now=start + s * 5) for s in range(4)] == [3, 0, 0, 0]
        # The first admitted books: its place goes to the next in line.
        assert store.claim(event_id=event.pk, token=tokens[0], max_bookings=1, now=start) == 1
        store.finish(event_id=event.pk, token=tokens[0], max_bookings=1)
        assert store.tick(config=config, now=start + 20) == 1
        # The others' passes expire: their places are freed too.
        after = start + settings.QUEUE_PASS_MINUTES * 60 + 25
        assert store.tick(config=config, now=after) == 3
        assert store.stats(event_id=event.pk, now=after).active == 3

    def test_a_slow_rate_admits_one_at_a_time_spread_over_the_minute(self) -> None:
        event = EventFactory(queue_enabled=True, queue_rate_per_minute=2)
        for _ in range(5):
            join(client(UserFactory()), event)
        config = queue_config(event)
        start = time.time()
        admitted = [queue_store().tick(config=config, now=start + s * 5) or 0 for s in range(24)]
        assert sum(admitted) == 2
        assert max(admitted) == 1

    @pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "control"])
    def test_one_tick_per_interval_whoever_calls(
        self, transactional_db: None, guarded: bool
    ) -> None:
        event = EventFactory(queue_enabled=True, queue_rate_per_minute=120)
        for _ in range(30):
            join(client(UserFactory()), event)
        config = queue_config(event)
        if not guarded:  # negative control: an interval of 0 lets every caller tick
            config = replace(config, tick_seconds=0.0)
        now = time.time()
        results = _together(8, lambda: queue_store().tick(config=config, now=now))
        ticked = [r for r in results if r is not None]
        if not guarded:
            assert len(ticked) > 1
            return
        assert ticked == [10]  # 120 a minute: 10 per 5 s
        assert queue_store().stats(event_id=event.pk, now=now).admitted_total == 10


def _together(n: int, call: Callable[[], Any]) -> list[Any]:
    """`call` from n threads released by one barrier; their results."""
    results: list[Any] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            result = call()
            with lock:
                results.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == n
    return results


@pytest.mark.parametrize("locked", [True, False], ids=["locked", "control"])
@pytest.mark.django_db(transaction=True)
def test_one_place_per_user_however_many_joins_race(
    monkeypatch: pytest.MonkeyPatch, locked: bool
) -> None:
    event = EventFactory(queue_enabled=True)
    join(client(UserFactory()), event)  # the queue is under way: someone is already in line
    api = client(UserFactory())
    # Widen the window between "is this user in line?" and writing the place, for both runs.
    original = QueueEntry.objects.update_or_create

    def slow_update_or_create(**kwargs: Any) -> Any:
        time.sleep(0.05)
        return original(**kwargs)

    monkeypatch.setattr(QueueEntry.objects, "update_or_create", slow_update_or_create)
    if not locked:
        if isinstance(queue_store(), RedisQueueStore):
            pytest.skip("a Lua script cannot be run half-atomic; the PostgreSQL run has it")
        # Negative control: the queue's row lock taken away.
        monkeypatch.setattr(
            DatabaseQueueStore,
            "_state",
            staticmethod(lambda event_id: QueueState.objects.get_or_create(event_id=event_id)[0]),
        )
    outcome = run_concurrently([lambda: join(api, event) for _ in range(16)], threads=16)
    tokens = {body["token"] for _, body, _ in outcome.bodies if body and "token" in body}
    correct = outcome.server_errors == 0 and outcome.statuses[201] == 1 and len(tokens) == 1
    assert correct == locked, (outcome.statuses, len(tokens))


@pytest.mark.django_db
def test_the_relay_loop_and_beat_run_the_scheduler(queued: Event) -> None:
    job, every = outbox_periodic_jobs()["queue_tick"]
    assert every == settings.QUEUE_TICK_SECONDS
    assert settings.CELERY_BEAT_SCHEDULE["queue-tick"]["schedule"] == settings.QUEUE_TICK_SECONDS
    token = join(client(UserFactory()), queued).json()["token"]
    assert job() == {str(queued.pk): 1}
    assert queue_store().place(event_id=queued.pk, token=token).admitted_until is not None  # type: ignore[union-attr]
    assert job() == {}  # the same interval: nobody ticks twice


@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_get_unique_dense_positions() -> None:
    event = EventFactory(queue_enabled=True)
    users = [UserFactory() for _ in range(40)]
    clients = [client(u) for u in users]
    outcome = run_concurrently([partial(join, api, event) for api in clients])
    assert outcome.server_errors == 0
    assert outcome.statuses == {201: 40}
    positions = sorted(body["position"] for _, body, _ in outcome.bodies)
    assert positions == list(range(1, 41))
    assert len({body["token"] for _, body, _ in outcome.bodies}) == 40


@pytest.mark.django_db
class TestPass:
    def test_booking_needs_a_pass_and_it_books_once(
        self, client_for: Any, attendee: User, seat: TicketType
    ) -> None:
        api = client_for(attendee)
        assert_problem(book(api, seat), 428, "queue_pass_required")
        queue_pass = admitted_pass(api, seat.event)
        assert book(api, seat, queue_pass).status_code == 201
        assert_problem(book(api, seat, queue_pass), 409, "queue_pass_used")
        assert Booking.objects.filter(user=attendee).count() == 1
        # To book again, queue again: a new place at the end.
        old = queue_store().place(
            event_id=seat.event_id, token=signing.loads(queue_pass, salt=PASS_SALT)["t"]
        )
        assert old is not None
        assert old.rank is None
        again = join(api, seat.event)
        assert again.status_code == 201
        assert again.json()["state"] == "waiting"

    def test_a_refused_booking_does_not_spend_the_pass(
        self, client_for: Any, attendee: User, seat: TicketType
    ) -> None:
        api = client_for(attendee)
        queue_pass = admitted_pass(api, seat.event)
        assert_problem(book(api, seat, queue_pass, n=11), 400, "invalid")  # over max_per_booking
        TicketType.objects.filter(pk=seat.pk).update(quantity_sold=10)
        assert_problem(book(api, seat, queue_pass), 409, "sold_out")
        TicketType.objects.filter(pk=seat.pk).update(quantity_sold=0)
        assert book(api, seat, queue_pass).status_code == 201

    def test_forged_expired_and_other_peoples_passes_are_refused(
        self, client_for: Any, attendee: User, other_attendee: User, seat: TicketType
    ) -> None:
        api = client_for(attendee)
        queue_pass = admitted_pass(api, seat.event)
        payload = signing.loads(queue_pass, salt=PASS_SALT)
        other_event = TicketTypeFactory(event=EventFactory(queue_enabled=True))
        refused = {
            "forged": queue_pass[:-3] + ("AAA" if not queue_pass.endswith("AAA") else "BBB"),
            "unsigned": signing.dumps(payload, salt="another-salt"),
            "expired": signing.dumps({**payload, "x": time.time() - 1}, salt=PASS_SALT),
            "garbage": "not a pass",
        }
        for name, value in refused.items():
            response = book(api, seat, value)
            assert response.status_code == 428, name
        assert_problem(
            book(client_for(other_attendee), seat, queue_pass), 428, "queue_pass_required"
        )
        assert_problem(book(api, other_event, queue_pass), 428, "queue_pass_required")
        assert not Booking.objects.exists()
        assert book(api, seat, queue_pass).status_code == 201

    def test_a_store_failing_after_the_claim_never_hides_the_booking_outcome(
        self,
        client_for: Any,
        attendee: User,
        seat: TicketType,
        monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        api = client_for(attendee)
        queue_pass = admitted_pass(api, seat.event)

        def down(*args: Any, **kwargs: Any) -> None:
            raise QueueUnavailable()

        monkeypatch.setattr(type(queue_store()), "unclaim", down)
        monkeypatch.setattr(type(queue_store()), "finish", down)
        TicketType.objects.filter(pk=seat.pk).update(quantity_sold=10)
        assert_problem(book(api, seat, queue_pass), 409, "sold_out")  # not a 503
        TicketType.objects.filter(pk=seat.pk).update(quantity_sold=0)
        other = client_for(UserFactory())
        second = admitted_pass(other, seat.event)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = book(other, seat, second)
        assert response.status_code == 201
        assert callbacks  # the place's release ran after commit, and failed quietly

    def test_the_428_is_not_kept_under_an_idempotency_key(
        self, client_for: Any, attendee: User, seat: TicketType
    ) -> None:
        api = client_for(attendee)
        body = {
            "event": str(seat.event_id),
            "items": [{"ticket_type": str(seat.pk), "quantity": 1}],
        }
        first = api.post("/api/v1/bookings/", body, format="json", headers={"Idempotency-Key": "k"})
        assert_problem(first, 428, "queue_pass_required")
        queue_pass = admitted_pass(api, seat.event)
        second = api.post(
            "/api/v1/bookings/",
            body,
            format="json",
            headers={"Idempotency-Key": "k", "Queue-Pass": queue_pass},
        )
        assert second.status_code == 201

    def test_expired_admission_shows_and_rejoining_goes_to_the_end(
        self, client_for: Any, attendee: User, seat: TicketType
    ) -> None:
        api = client_for(attendee)
        event = seat.event
        token = join(api, event).json()["token"]
        config = queue_config(event)
        past = time.time() - settings.QUEUE_PASS_MINUTES * 60 - 10
        assert queue_store().tick(config=config, now=past) == 1
        assert status(api, event, token).json()["state"] == "expired"
        again = join(api, event)
        assert again.status_code == 201
        assert again.json()["token"] != token
        assert again.json()["state"] == "waiting"


@pytest.mark.django_db
class TestStoreDown:
    @pytest.fixture(autouse=True)
    def _dead_redis(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import redis

        dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
        monkeypatch.setattr(store_module, "_store", RedisQueueStore(dead, "dead"))

    def test_the_queue_answers_503_and_bookings_are_refused(
        self, client_for: Any, attendee: User, seat: TicketType
    ) -> None:
        api = client_for(attendee)
        response = join(api, seat.event)
        assert_problem(response, 503, "queue_unavailable")
        assert response["Retry-After"] == "5"
        assert_problem(status(api, seat.event, "t" * 32), 503, "queue_unavailable")
        payload = {"e": str(seat.event_id), "u": str(attendee.pk), "t": "t", "x": time.time() + 60}
        queue_pass = signing.dumps(payload, salt=PASS_SALT, compress=True)
        assert_problem(book(api, seat, queue_pass), 503, "queue_unavailable")
        assert not Booking.objects.exists()


@pytest.mark.external
@pytest.mark.django_db
def test_a_poll_costs_no_database_query(client_for: Any, attendee: User, queued: Event) -> None:
    assert isinstance(queue_store(), RedisQueueStore)
    api = client_for(attendee)
    token = join(api, queued).json()["token"]
    with CaptureQueriesContext(connection) as queries:
        assert status(api, queued, token).status_code == 200
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_external_runs_use_redis() -> None:
    if not EXTERNAL:
        pytest.skip("the embedded run keeps the queue in PostgreSQL")
    queue_store_reset()
    assert isinstance(queue_store(), RedisQueueStore)
