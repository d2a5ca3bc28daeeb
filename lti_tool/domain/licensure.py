"""Licensure offices and how each counts the tool's CEU grants in its own unit.

An office (a state agency or a district) recognises micro-credential work by its own rule, taken from the
seeds: North Carolina counts renewal credits at 10 contact hours per credit; Maryland (through Baltimore
County) one CPD credit per two approved micro-credentials, a count and not hours; Clark County, Nevada
contact units at 3 hours per unit, at most 30 units from micro-credentials over all of an educator's
records. Because of counts carried over and caps, what one record is worth depends on the educator's earlier
records with the same office, so the conversions here always take the records before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

GRANT_KINDS = frozenset({"stack", "course_award"})


class RuleKind(StrEnum):
    HOURS_PER_UNIT = "hours_per_unit"
    CREDENTIALS_PER_UNIT = "credentials_per_unit"


class FileLayout(StrEnum):
    """Roster file layouts an office takes: the tool's own CSV, or CE Broker's roster upload columns."""

    GENERIC = "generic"
    CE_BROKER = "ce_broker"


@dataclass(frozen=True)
class ConversionRule:
    """How an office turns a record into its units.

    ``decimals`` is how the office rounds one record's units (ROUND_HALF_UP); ``cap_units`` bounds the total
    over all of an educator's records with the office, not each record.
    """

    kind: RuleKind
    hours_per_unit: Decimal | None = None
    credentials_per_unit: int | None = None
    cap_units: Decimal | None = None
    decimals: int = 1

    def __post_init__(self) -> None:
        problems = rule_problems(
            self.kind, self.hours_per_unit, self.credentials_per_unit, self.cap_units, self.decimals
        )
        if problems:
            raise ValueError(problems[0][1])

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)


def rule_problems(
    kind: RuleKind,
    hours_per_unit: Decimal | None,
    credentials_per_unit: int | None,
    cap_units: Decimal | None,
    decimals: int,
) -> list[tuple[str, str]]:
    """(field, problem) for each inconsistency in a rule, in an operator's words; field "" is the whole rule.

    The office files report these at the field's line, so they are said once, here."""
    problems: list[tuple[str, str]] = []
    if kind is RuleKind.HOURS_PER_UNIT:
        if hours_per_unit is None:
            problems.append(("", "an hours_per_unit rule needs hours_per_unit (contact hours per unit)"))
        elif hours_per_unit <= 0:
            problems.append(("hours_per_unit", "must be above 0"))
        if credentials_per_unit is not None:
            problems.append(("credentials_per_unit", "belongs to a credentials_per_unit rule; remove it"))
    else:
        if credentials_per_unit is None:
            problems.append(("", "a credentials_per_unit rule needs credentials_per_unit (a whole number)"))
        elif credentials_per_unit < 1:
            problems.append(("credentials_per_unit", "must be at least 1"))
        if hours_per_unit is not None:
            problems.append(("hours_per_unit", "belongs to an hours_per_unit rule; remove it"))
        if decimals != 0:
            problems.append(
                ("decimals", "a credentials_per_unit rule counts whole units: decimals must be 0")
            )
    if not 0 <= decimals <= 4:
        problems.append(("decimals", "must be between 0 and 4"))
    elif cap_units is not None:
        if cap_units <= 0:
            problems.append(("cap_units", "must be above 0"))
        # A cap finer than the office's rounding could never be reached exactly.
        elif cap_units != cap_units.quantize(Decimal(1).scaleb(-decimals)):
            problems.append(("cap_units", f"{cap_units} has more decimal places than decimals ({decimals})"))
    return problems


@dataclass(frozen=True)
class PushEndpoint:
    """Where records are POSTed. ``secret_env`` names the environment variable holding the HMAC secret."""

    url: str
    secret_env: str
    max_attempts: int = 8


@dataclass(frozen=True)
class CeBrokerIds:
    """The numbers CE Broker assigned to the provider and the course, and the profession it reports for."""

    provider_number: str
    course_number: str
    profession: str


@dataclass(frozen=True)
class OfficeProfile:
    key: str
    name: str
    state: str
    jurisdiction: str
    unit_singular: str
    unit_plural: str
    rule: ConversionRule
    # Grant kinds ("stack", "course_award") the office counts, and the courses (empty: any course).
    accepts: frozenset[str]
    accepts_courses: frozenset[str] = frozenset()
    push: PushEndpoint | None = None
    pull: bool = False
    file_layouts: tuple[FileLayout, ...] = ()
    ce_broker: CeBrokerIds | None = None
    # The seed's wording of the rule, shown to educators beside the numbers.
    notes: str = ""

    def unit_name(self, units: Decimal) -> str:
        return self.unit_singular if units == 1 else self.unit_plural


@dataclass(frozen=True)
class RecordFacts:
    """What a conversion needs to know about one CEU grant (a record)."""

    record_id: str
    granted_at: datetime
    contact_hours: Decimal
    credential_count: int  # the embedded credentials the grant stands for
    kind: str  # "stack" or "course_award"
    course_key: str


def accepts(office: OfficeProfile, facts: RecordFacts) -> bool:
    """Does ``office`` count this record (its grant kind; its course, when the office names courses)?"""
    if facts.kind not in office.accepts:
        return False
    return not office.accepts_courses or facts.course_key in office.accepts_courses


def _running(rule: ConversionRule, records: Sequence[RecordFacts]) -> Iterator[Decimal]:
    """The units each record adds, in order, each given every record before it."""
    quantum = rule.quantum
    total = Decimal(0)
    credentials = 0
    for facts in records:
        if facts.contact_hours < 0 or facts.credential_count < 0:
            raise ValueError(f"record {facts.record_id}: hours and credential counts cannot be negative")
        if rule.kind is RuleKind.HOURS_PER_UNIT:
            assert rule.hours_per_unit is not None
            units = (facts.contact_hours / rule.hours_per_unit).quantize(quantum, rounding=ROUND_HALF_UP)
        else:
            # Credentials left over from earlier records count with this one: 5 then 1 make 3 units.
            assert rule.credentials_per_unit is not None
            before = credentials // rule.credentials_per_unit
            credentials += facts.credential_count
            units = Decimal(credentials // rule.credentials_per_unit - before)
        if rule.cap_units is not None:
            # The record that crosses the cap adds only what is left; the per-record rounding happened
            # first, so the sum of what is reported is never above the cap.
            units = min(units, max(rule.cap_units - total, Decimal(0)))
        units = units.quantize(quantum)
        total += units
        yield units


def units_for(rule: ConversionRule, facts: RecordFacts, earlier: Sequence[RecordFacts]) -> Decimal:
    """The units ``facts`` adds, given the educator's earlier records with the same office (grant order).

    ``earlier`` holds only records the office accepts (see ``accepts``)."""
    *_, last = _running(rule, [*earlier, facts])
    return last


def units_table(office: OfficeProfile, records: Sequence[RecordFacts]) -> list[tuple[RecordFacts, Decimal]]:
    """Every record of one educator (in grant order) with the units it adds for ``office``; a record the
    office does not accept adds 0 and does not count toward later ones."""
    taken = [accepts(office, r) for r in records]
    added = iter(_running(office.rule, [r for r, ok in zip(records, taken, strict=True) if ok]))
    zero = Decimal(0).quantize(office.rule.quantum)
    return [(r, next(added) if ok else zero) for r, ok in zip(records, taken, strict=True)]


def _number(value: Decimal | int) -> str:
    """10, 2.5 and 30 as people write them (no exponent, no trailing zeros)."""
    return format(Decimal(value).normalize(), "f")


def describe(rule: ConversionRule, unit_singular: str = "unit", unit_plural: str = "units") -> str:
    """The rule in one sentence: "10 contact hours = 1 renewal credit"."""
    if rule.kind is RuleKind.HOURS_PER_UNIT:
        assert rule.hours_per_unit is not None
        hours = rule.hours_per_unit
        text = f"{_number(hours)} contact {'hour' if hours == 1 else 'hours'} = 1 {unit_singular}"
    else:
        assert rule.credentials_per_unit is not None
        n = rule.credentials_per_unit
        text = f"{n} micro-credential{'s' if n > 1 else ''} = 1 {unit_singular}"
        if n > 1:
            text += " (leftover micro-credentials count toward the next)"
    if rule.cap_units is not None:
        cap = rule.cap_units
        text += f", at most {_number(cap)} {unit_singular if cap == 1 else unit_plural} in all"
    return text


def describe_office(office: OfficeProfile) -> str:
    return describe(office.rule, office.unit_singular, office.unit_plural)
