"""Field validators shared by profile facts (and referenced by migrations, so keep their paths)."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone


def not_in_future(value: date) -> None:
    if value > timezone.localdate():
        raise ValidationError("%(value)s is in the future.", code="future_date", params={"value": value})


def not_negative(value: Decimal) -> None:
    if value < 0:
        raise ValidationError("A measured value cannot be negative (got %(value)s).", params={"value": value})
