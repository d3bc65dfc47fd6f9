"""Payment shapes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from boxoffice.common.fields import MoneyField
from boxoffice.payments.models import Payment, PaymentStatus, RefundStatus


class PayInputSerializer(serializers.Serializer[dict[str, Any]]):
    provider = serializers.CharField(
        max_length=32, required=False, help_text="Default: the first enabled provider."
    )


class PaymentSerializer(serializers.Serializer[Payment]):
    id = serializers.UUIDField(read_only=True)
    provider = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=PaymentStatus.choices, read_only=True)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    redirect_url = serializers.CharField(
        read_only=True, help_text="Where the buyer pays (absolute); empty for `manual`."
    )
    created_at = serializers.DateTimeField(read_only=True)


class ProviderSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)


class RefundInputSerializer(serializers.Serializer[dict[str, Any]]):
    amount = MoneyField(
        required=False, help_text="Default: everything paid that is not refunded yet."
    )


class RefundSerializer(serializers.Serializer[Any]):
    """A refund, or the sum of the refunds one request made (split over several payments)."""

    id = serializers.UUIDField(read_only=True)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    status = serializers.ChoiceField(choices=RefundStatus.choices, read_only=True)
