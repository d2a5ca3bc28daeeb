"""Contact hours, CEUs and licensure renewal credits.

A CEU is ten contact hours (the IACET convention that North Carolina uses):
the Learning Differences MOOC-Ed with its credentials counts as 30 hours,
which is 3 CEUs, which NC counts as 3 renewal credits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

HOURS_PER_CEU = Decimal(10)


def _dec(value: float | Decimal | int) -> Decimal:
    return Decimal(str(value))


def ceus_for_hours(hours: float | Decimal | int) -> Decimal:
    """CEUs to one decimal place, as licensure offices record them."""
    if _dec(hours) < 0:
        raise ValueError("contact hours cannot be negative")
    return (_dec(hours) / HOURS_PER_CEU).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CeuAward:
    contact_hours: Decimal
    ceus: Decimal

    @property
    def renewal_credits(self) -> Decimal:
        # NC: one renewal credit per CEU.
        return self.ceus


def award_for_hours(hours: float | Decimal | int) -> CeuAward:
    return CeuAward(contact_hours=_dec(hours), ceus=ceus_for_hours(hours))
