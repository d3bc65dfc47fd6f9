"""Callbacks for changes in the events layer that a higher layer acts on in the same transaction
(dependency inversion, like the outbox's registry): when a type's quantity is raised, bookings
offers the new seats to its waiting list before anyone else can book them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

InventoryFreed = Callable[..., object]

_inventory_freed: list[InventoryFreed] = []


def inventory_freed_register(callback: InventoryFreed) -> None:
    """`callback(event_id=..., ticket_type_ids=...)`, called with the event row locked."""
    if callback not in _inventory_freed:
        _inventory_freed.append(callback)


def inventory_freed(*, event_id: UUID, ticket_type_ids: Sequence[UUID]) -> None:
    for callback in _inventory_freed:
        callback(event_id=event_id, ticket_type_ids=ticket_type_ids)
