"""Property-based (Hypothesis stateful): random sequences of bookings (with and without a voucher),
cancels, keyed retries, waiting-list joins and declined offers through HTTP, each response
predicted by a small model (which also plays the waiting list's offers), invariants (counters,
voucher uses, the queue's statuses in order) checked every step."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from boxoffice.bookings.models import LIVE_STATUSES, Booking, WaitlistEntry
from boxoffice.events.vouchers import voucher_create
from tests.bookings.races import client, inventory_violations
from tests.factories import EventFactory, TicketTypeFactory, UserFactory

CAPACITY = 6
PER_USER = 5
QUANTITIES = (4, 3)
MAX_PER_BOOKING = 4
VOUCHER_USES = 4  # covers type 0 only

lines_strategy = st.lists(
    st.tuples(st.sampled_from([0, 1]), st.integers(min_value=1, max_value=MAX_PER_BOOKING + 1)),
    min_size=1,
    max_size=2,
    unique_by=lambda line: line[0],
)


@dataclass
class Model:
    sold: list[int] = field(default_factory=lambda: [0, 0])
    held: dict[int, int] = field(default_factory=dict)  # user -> confirmed tickets
    stored: dict[tuple[int, str], tuple[Any, int, Any]] = field(default_factory=dict)
    voucher_uses: int = 0
    # Waiting-list entries in join order: {id, user, type, quantity, status}.
    waiting: list[dict[str, Any]] = field(default_factory=list)

    def free(self, t: int) -> int:
        return min(QUANTITIES[t] - self.sold[t], CAPACITY - sum(self.sold))

    def offer(self, type_order: list[int]) -> None:
        """The service's offers after seats came back: per type (in id order), each waiting
        entry that fits, in join order."""
        for t in type_order:
            for entry in self.waiting:
                if entry["type"] != t or entry["status"] != "waiting":
                    continue
                free = self.free(t)
                if free <= 0:
                    break
                if entry["quantity"] > free:
                    continue
                entry["status"] = "offered"
                self.sold[t] += entry["quantity"]
                self.held[entry["user"]] = self.held.get(entry["user"], 0) + entry["quantity"]

    def predict(
        self, user: int, lines: list[tuple[int, int]], voucher: bool
    ) -> tuple[int, str | None]:
        """The service's order of checks: shape, per-request cap, stock, the voucher's cover and
        uses, per-user cap."""
        total = sum(quantity for _, quantity in lines)
        if any(quantity > MAX_PER_BOOKING for _, quantity in lines):
            return 400, "invalid"
        if total > PER_USER:
            return 400, "ticket_limit_exceeded"
        if (
            any(self.sold[t] + q > QUANTITIES[t] for t, q in lines)
            or sum(self.sold) + total > CAPACITY
        ):
            return 409, "sold_out"
        refused = self.voucher_refusal(lines) if voucher else None
        if refused is not None:
            return refused
        if self.held.get(user, 0) + total > PER_USER:
            return 400, "ticket_limit_exceeded"
        return 201, None

    def voucher_refusal(self, lines: list[tuple[int, int]]) -> tuple[int, str] | None:
        uses = covered(lines)
        if uses == 0:
            return 400, "invalid_voucher"
        if self.voucher_uses + uses > VOUCHER_USES:
            return 409, "voucher_exhausted"
        return None


def covered(lines: list[tuple[int, int]]) -> int:
    return sum(quantity for t, quantity in lines if t == 0)


class BookingMachine(RuleBasedStateMachine):
    bookings = Bundle("bookings")

    def __init__(self) -> None:
        super().__init__()
        self.event = EventFactory(capacity=CAPACITY, max_tickets_per_user=PER_USER)
        self.types = [
            TicketTypeFactory(
                event=self.event, name=f"T{i}", quantity=q, max_per_booking=MAX_PER_BOOKING
            )
            for i, q in enumerate(QUANTITIES)
        ]
        self.voucher = voucher_create(
            event=self.event,
            code="HALF",
            discount_type="percent",
            value=Decimal(50),
            max_uses=VOUCHER_USES,
            ticket_types=[self.types[0]],
        )
        self.users = UserFactory.create_batch(3)
        self.clients = [client(user) for user in self.users]
        self.model = Model()

    def _post(self, user: int, lines: list[tuple[int, int]], key: str | None, voucher: bool) -> Any:
        body: dict[str, Any] = {
            "event": str(self.event.pk),
            "items": [{"ticket_type": str(self.types[t].pk), "quantity": q} for t, q in lines],
        }
        if voucher:
            body["voucher"] = "half"
        headers = {"Idempotency-Key": key} if key else {}
        return self.clients[user].post("/api/v1/bookings/", body, format="json", headers=headers)

    @rule(
        target=bookings,
        user=st.integers(0, 2),
        lines=lines_strategy,
        key=st.none() | st.sampled_from(["a", "b"]),
        voucher=st.booleans(),
    )
    def book(self, user: int, lines: list[tuple[int, int]], key: str | None, voucher: bool) -> Any:
        response = self._post(user, lines, key, voucher)
        body = response.json()
        stored = self.model.stored.get((user, key)) if key else None
        if stored is not None:
            stored_request, status, stored_body = stored
            if stored_request == (lines, voucher):
                assert response.status_code == status
                assert response["Idempotent-Replayed"] == "true"
                assert body == stored_body
            else:
                assert response.status_code == 422
                assert body["code"] == "idempotency_key_reused"
            return None
        status, code = self.model.predict(user, lines, voucher)
        assert response.status_code == status, (body, self.model)
        if code is not None:
            assert body["code"] == code
        if key:
            self.model.stored[(user, key)] = ((lines, voucher), status, body)
        if status != 201:
            return None
        for t, q in lines:
            self.model.sold[t] += q
        total = sum(q for _, q in lines)
        self.model.held[user] = self.model.held.get(user, 0) + total
        uses = covered(lines) if voucher else 0
        self.model.voucher_uses += uses
        for item in body["items"]:
            discounted = voucher and item["ticket_type"]["id"] == str(self.types[0].pk)
            assert (item["discount"] != "0.00") == discounted, body
        booked = {t for t, _ in lines}
        for entry in self.model.waiting:  # booking directly takes you off those lists
            if entry["user"] == user and entry["type"] in booked and entry["status"] == "waiting":
                entry["status"] = "left"
        return (user, body["id"], lines, uses)

    def _type_order(self) -> list[int]:
        return sorted(range(len(self.types)), key=lambda t: self.types[t].pk)

    @rule(
        user=st.integers(0, 2),
        t=st.sampled_from([0, 1]),
        quantity=st.integers(min_value=1, max_value=MAX_PER_BOOKING + 1),
    )
    def join_waitlist(self, user: int, t: int, quantity: int) -> None:
        response = self.clients[user].post(
            f"/api/v1/events/{self.event.pk}/waitlist/",
            {"ticket_type": str(self.types[t].pk), "quantity": quantity},
            format="json",
        )
        body = response.json()
        active = any(
            e["user"] == user and e["type"] == t and e["status"] in ("waiting", "offered")
            for e in self.model.waiting
        )
        if quantity > MAX_PER_BOOKING:
            expected: tuple[int, str | None] = (400, "invalid")
        elif self.model.free(t) >= quantity:
            expected = (409, "tickets_available")
        elif self.model.held.get(user, 0) + quantity > PER_USER:
            expected = (400, "invalid")
        elif active:
            expected = (409, "already_waiting")
        else:
            expected = (201, None)
        assert (response.status_code, body.get("code")) == expected, (body, self.model)
        if response.status_code == 201:
            self.model.waiting.append(
                {
                    "id": body["id"],
                    "user": user,
                    "type": t,
                    "quantity": quantity,
                    "status": "waiting",
                }
            )

    @rule(index=st.integers(0, 20))
    def leave_waitlist(self, index: int) -> None:
        active = [e for e in self.model.waiting if e["status"] in ("waiting", "offered")]
        if not active:
            return
        entry = active[index % len(active)]
        response = self.clients[entry["user"]].delete(f"/api/v1/waitlist/{entry['id']}/")
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "left"
        was_offered = entry["status"] == "offered"
        entry["status"] = "left"
        if was_offered:  # the offer's booking is cancelled: its seats pass on
            self.model.sold[entry["type"]] -= entry["quantity"]
            self.model.held[entry["user"]] -= entry["quantity"]
            self.model.offer(self._type_order())

    @rule(booking=bookings)
    def cancel(self, booking: Any) -> None:
        if booking is None:
            return
        user, booking_id, lines, uses = booking
        response = self.clients[user].post(f"/api/v1/bookings/{booking_id}/cancel/")
        already = booking_id in self.cancelled
        assert response.status_code == (409 if already else 200), response.json()
        if already:
            assert response.json()["code"] == "already_cancelled"
            return
        self.cancelled.add(booking_id)
        for t, q in lines:
            self.model.sold[t] -= q
        self.model.held[user] -= sum(q for _, q in lines)
        self.model.voucher_uses -= uses
        self.model.offer(self._type_order())

    @property
    def cancelled(self) -> set[str]:
        if not hasattr(self, "_cancelled"):
            self._cancelled: set[str] = set()
        return self._cancelled

    @invariant()
    def counters_match_confirmed_bookings(self) -> None:
        assert inventory_violations(self.event) == []
        for ticket_type, sold in zip(self.types, self.model.sold, strict=True):
            ticket_type.refresh_from_db()
            assert ticket_type.quantity_sold == sold

    @invariant()
    def waiting_list_matches_the_model(self) -> None:
        stored = {
            str(pk): status
            for pk, status in WaitlistEntry.objects.filter(event=self.event).values_list(
                "id", "status"
            )
        }
        assert stored == {e["id"]: e["status"] for e in self.model.waiting}, self.model

    @invariant()
    def voucher_uses_match_live_bookings(self) -> None:
        self.voucher.refresh_from_db()
        live = Booking.objects.filter(voucher=self.voucher, status__in=LIVE_STATUSES)
        held = live.aggregate(n=Sum("voucher_uses"))["n"] or 0
        assert self.voucher.uses == held == self.model.voucher_uses


@pytest.mark.django_db
def test_booking_state_machine() -> None:
    run_state_machine_as_test(
        BookingMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )
