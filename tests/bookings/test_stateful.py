"""Property-based (Hypothesis stateful): random sequences of bookings, cancels and keyed
retries through HTTP, each response predicted by a small model, invariants checked every step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.bookings.races import client, inventory_violations
from tests.factories import EventFactory, TicketTypeFactory, UserFactory

CAPACITY = 12
PER_USER = 5
QUANTITIES = (8, 6)
MAX_PER_BOOKING = 4

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

    def predict(self, user: int, lines: list[tuple[int, int]]) -> tuple[int, str | None]:
        """The service's order of checks: shape, per-request cap, stock, per-user cap."""
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
        if self.held.get(user, 0) + total > PER_USER:
            return 400, "ticket_limit_exceeded"
        return 201, None


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
        self.users = UserFactory.create_batch(3)
        self.clients = [client(user) for user in self.users]
        self.model = Model()

    def _post(self, user: int, lines: list[tuple[int, int]], key: str | None) -> Any:
        body = {
            "event": str(self.event.pk),
            "items": [{"ticket_type": str(self.types[t].pk), "quantity": q} for t, q in lines],
        }
        headers = {"Idempotency-Key": key} if key else {}
        return self.clients[user].post("/api/v1/bookings/", body, format="json", headers=headers)

    @rule(
        target=bookings,
        user=st.integers(0, 2),
        lines=lines_strategy,
        key=st.none() | st.sampled_from(["a", "b"]),
    )
    def book(self, user: int, lines: list[tuple[int, int]], key: str | None) -> Any:
        response = self._post(user, lines, key)
        body = response.json()
        stored = self.model.stored.get((user, key)) if key else None
        if stored is not None:
            stored_lines, status, stored_body = stored
            if stored_lines == lines:
                assert response.status_code == status
                assert response["Idempotent-Replayed"] == "true"
                assert body == stored_body
            else:
                assert response.status_code == 422
                assert body["code"] == "idempotency_key_reused"
            return None
        status, code = self.model.predict(user, lines)
        assert response.status_code == status, (body, self.model)
        if code is not None:
            assert body["code"] == code
        if key:
            self.model.stored[(user, key)] = (lines, status, body)
        if status != 201:
            return None
        for t, q in lines:
            self.model.sold[t] += q
        total = sum(q for _, q in lines)
        self.model.held[user] = self.model.held.get(user, 0) + total
        return (user, body["id"], lines)

    @rule(booking=bookings)
    def cancel(self, booking: Any) -> None:
        if booking is None:
            return
        user, booking_id, lines = booking
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
