"""What delivering each kind of outbox message does, filled by the domain apps at ready().

The outbox knows no domain: an app that writes messages of a kind names the kind (a string of its
own), and the app that performs the side effect registers a handler for it in its
`AppConfig.ready()`. A message whose kind has no handler fails its attempt (and shows in the admin
and in /health/) instead of being dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from boxoffice.outbox.models import OutboxMessage

Handler = Callable[["OutboxMessage"], None]

_handlers: dict[str, Handler] = {}


class UnknownKind(LookupError):
    pass


def outbox_handler_register(kind: str, handler: Handler) -> None:
    """Register the handler of `kind`; registering another one for the same kind is a bug."""
    current = _handlers.get(kind)
    if current is not None and current is not handler:
        raise ValueError(f"outbox kind {kind!r} already has a handler: {current!r}")
    _handlers[kind] = handler


def outbox_handler(kind: str) -> Handler:
    try:
        return _handlers[kind]
    except KeyError:
        raise UnknownKind(f"no handler registered for outbox kind {kind!r}") from None


def outbox_kinds() -> list[str]:
    return sorted(_handlers)


# Periodic housekeeping that domain apps register for setups without Celery beat: the relay loop
# (`manage.py outbox_relay --loop`, started by `make run` without a broker) runs each job every
# `every` seconds. With a broker, Celery beat runs the same functions through their tasks.
Job = Callable[[], object]
_periodic: dict[str, tuple[Job, float]] = {}


def outbox_periodic_register(name: str, job: Job, *, every: float) -> None:
    _periodic[name] = (job, every)


def outbox_periodic_jobs() -> dict[str, tuple[Job, float]]:
    return dict(_periodic)
