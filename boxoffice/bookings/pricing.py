"""What a booking costs: the voucher it names (checked without a lock) and the price per ticket.

A voucher applies to the booked types it covers (all of the event's when it names none): each
covered ticket costs its price minus the discount - percent rounded half-up to the cent, a fixed
amount at most the price, nothing for an access-only voucher - and counts as one use. The locked
judge of "enough uses left" is the booking statement's `uses + n <= max_uses`."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from boxoffice.common.errors import Conflict
from boxoffice.events.models import DiscountType, TicketType, Voucher
from boxoffice.events.vouchers import InvalidVoucher, VoucherUse

CENT = Decimal("0.01")


class VoucherExhausted(Conflict):
    code = "voucher_exhausted"
    default_detail = "This voucher has been used up."


def discount_per_ticket(voucher: Voucher, price: Decimal) -> Decimal:
    if voucher.discount_type == DiscountType.PERCENT:
        off = (price * voucher.value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    elif voucher.discount_type == DiscountType.FIXED:
        off = voucher.value
    else:
        off = Decimal("0.00")
    return min(off, price).quantize(CENT)


def voucher_uses_for(use: VoucherUse, lines: Iterable[tuple[TicketType, int]]) -> int:
    """How many uses (tickets) the booking takes; InvalidVoucher when it covers no line."""
    uses = sum(quantity for ticket_type, quantity in lines if use.covers(ticket_type))
    if uses == 0:
        raise InvalidVoucher.because("This voucher is not valid for these ticket types.")
    return uses
