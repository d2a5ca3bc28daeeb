"""Licensure conversion rules (NC hours, MD credential count, Clark County cap), without any I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_tool.domain.licensure import (
    ConversionRule,
    OfficeProfile,
    RecordFacts,
    RuleKind,
    accepts,
    describe,
    describe_office,
    units_for,
    units_table,
)

NC = ConversionRule(RuleKind.HOURS_PER_UNIT, hours_per_unit=Decimal(10), decimals=1)
MD = ConversionRule(RuleKind.CREDENTIALS_PER_UNIT, credentials_per_unit=2, decimals=0)
NV = ConversionRule(RuleKind.HOURS_PER_UNIT, hours_per_unit=Decimal(3), cap_units=Decimal(30), decimals=1)
START = datetime(2024, 9, 1, tzinfo=UTC)


def record(
    hours: str | int = 10, credentials: int = 5, kind: str = "stack", course: str = "ld", n: int = 0
) -> RecordFacts:
    return RecordFacts(f"r{n}", START + timedelta(days=n), Decimal(str(hours)), credentials, kind, course)


def records(*hours: str | int, credentials: int = 5) -> list[RecordFacts]:
    return [record(h, credentials, n=i) for i, h in enumerate(hours)]


def office(
    rule: ConversionRule, kinds: set[str] | None = None, courses: set[str] | None = None
) -> OfficeProfile:
    return OfficeProfile(
        key="office",
        name="Office",
        state="NC",
        jurisdiction="North Carolina",
        unit_singular="renewal credit",
        unit_plural="renewal credits",
        rule=rule,
        accepts=frozenset(kinds or {"stack", "course_award"}),
        accepts_courses=frozenset(courses or ()),
    )


# --- North Carolina: 10 contact hours per renewal credit ----------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "units"),
    [(10, "1.0"), (0, "0.0"), (25, "2.5"), (30, "3.0"), ("0.5", "0.1"), ("0.49", "0.0"), ("0.45", "0.0")],
)
def test_nc_counts_tenths_of_a_credit_rounding_half_up(hours: str | int, units: str) -> None:
    assert str(units_for(NC, record(hours), [])) == units


def test_nc_rounds_each_record_and_has_no_cap() -> None:
    # 0.05 h rounds to 0.0 credits on its own; earlier records do not change what a record adds.
    assert units_for(NC, record("0.05", n=5), records(10, 10, 10, 10)) == Decimal("0.0")
    table = units_table(office(NC), records(*[10] * 40))
    assert sum(units for _, units in table) == Decimal(40)


# --- Maryland: one CPD credit per two approved micro-credentials --------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "these", "units"),
    [
        ([], 0, 0),
        ([], 1, 0),
        ([], 2, 1),
        ([], 5, 2),  # 5 credentials: 2 credits, 1 left over
        ([5], 1, 1),  # the leftover counts with the next record
        ([5], 2, 1),
        ([5], 3, 2),
        ([1, 1], 1, 0),
        ([1], 1, 1),
        ([4, 4], 4, 2),
    ],
)
def test_md_counts_credentials_carrying_the_odd_one_over(earlier: list[int], these: int, units: int) -> None:
    before = [record(0, c, n=i) for i, c in enumerate(earlier)]
    added = units_for(MD, record(0, these, n=len(earlier)), before)
    assert added == units
    assert str(added) == str(units)  # whole credits: no ".0"


def test_md_ignores_hours() -> None:
    assert units_for(MD, record(hours=300, credentials=1), []) == 0


# --- Clark County, Nevada: 3 hours per contact unit, at most 30 units over all records ---------------


def test_nv_three_hours_per_unit_to_one_decimal() -> None:
    assert units_for(NV, record(10), []) == Decimal("3.3")
    assert units_for(NV, record(0), []) == 0
    assert units_for(NV, record(3), []) == 1
    assert units_for(NV, record("0.15"), []) == Decimal("0.1")  # 0.05 rounds half up


def test_nv_reaching_the_cap_exactly_then_nothing_more() -> None:
    table = units_table(office(NV), records(45, 45, 10))
    assert [units for _, units in table] == [Decimal("15.0"), Decimal("15.0"), Decimal("0.0")]


def test_nv_record_crossing_the_cap_adds_only_what_is_left() -> None:
    # 9 x 10 h = 9 x 3.3 = 29.7 units; the tenth 10-hour record would add 3.3 but only 0.3 is left.
    before = records(*[10] * 9)
    assert units_for(NV, record(10, n=9), before) == Decimal("0.3")
    assert units_for(NV, record(10, n=10), [*before, record(10, n=9)]) == 0
    table = units_table(office(NV), records(*[10] * 12))
    assert sum(units for _, units in table) == Decimal(30)
    assert [str(units) for _, units in table[8:]] == ["3.3", "0.3", "0.0", "0.0"]


def test_nv_cap_is_over_the_per_record_rounded_units() -> None:
    # 100 h in one record is 33.3 units, capped to 30 at once.
    assert units_for(NV, record(100), []) == Decimal(30)


# --- what an office accepts ---------------------------------------------------------------------------------


def test_a_record_the_office_does_not_accept_adds_nothing_and_does_not_count() -> None:
    md = office(MD, kinds={"stack"})
    award = record(0, 15, kind="course_award", n=1)
    assert not accepts(md, award)
    table = units_table(md, [record(0, 1, n=0), award, record(0, 1, n=2)])
    # The award's 15 credentials would otherwise have made the first single credential a pair.
    assert [units for _, units in table] == [0, 0, 1]


def test_an_office_naming_courses_accepts_only_those() -> None:
    nc = office(NC, courses={"learning-differences"})
    assert accepts(nc, record(course="learning-differences"))
    assert not accepts(nc, record(course="global-graduates"))
    assert accepts(office(NC), record(course="global-graduates"))  # no courses named: any course


def test_units_table_keeps_every_record_in_order() -> None:
    given_records = [record(10, n=0), record(10, kind="other", n=1), record(20, n=2)]
    table = units_table(office(NC), given_records)
    assert [r for r, _ in table] == given_records
    assert [units for _, units in table] == [1, 0, 2]


def test_negative_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        units_for(NC, record(-1), [])


# --- rules themselves ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"kind": RuleKind.HOURS_PER_UNIT}, "needs hours_per_unit"),
        ({"kind": RuleKind.HOURS_PER_UNIT, "hours_per_unit": Decimal(0)}, "above 0"),
        (
            {"kind": RuleKind.HOURS_PER_UNIT, "hours_per_unit": Decimal(3), "credentials_per_unit": 2},
            "belongs to a credentials_per_unit rule",
        ),
        ({"kind": RuleKind.CREDENTIALS_PER_UNIT, "credentials_per_unit": 0, "decimals": 0}, "at least 1"),
        (
            {"kind": RuleKind.CREDENTIALS_PER_UNIT, "credentials_per_unit": 2, "decimals": 1},
            "decimals must be 0",
        ),
        (
            {"kind": RuleKind.HOURS_PER_UNIT, "hours_per_unit": Decimal(3), "cap_units": Decimal("30.05")},
            "more decimal places",
        ),
        ({"kind": RuleKind.HOURS_PER_UNIT, "hours_per_unit": Decimal(3), "cap_units": Decimal(0)}, "above 0"),
    ],
)
def test_inconsistent_rules_are_refused(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        ConversionRule(**kwargs)  # type: ignore[arg-type]


def test_describe_says_the_rule_in_the_office_unit() -> None:
    assert describe(NC, "renewal credit", "renewal credits") == "10 contact hours = 1 renewal credit"
    assert describe(MD, "CPD credit", "CPD credits") == (
        "2 micro-credentials = 1 CPD credit (leftover micro-credentials count toward the next)"
    )
    assert describe(NV, "contact unit (CU)", "contact units (CUs)") == (
        "3 contact hours = 1 contact unit (CU), at most 30 contact units (CUs) in all"
    )
    assert describe_office(office(NC)) == "10 contact hours = 1 renewal credit"


# --- properties ---------------------------------------------------------------------------------------------

_hours = st.decimals(min_value=0, max_value=200, places=2, allow_nan=False, allow_infinity=False)
_facts = st.lists(
    st.tuples(_hours, st.integers(0, 12), st.sampled_from(["stack", "course_award"])), max_size=25
)
_rules = st.one_of(
    st.builds(
        ConversionRule,
        kind=st.just(RuleKind.HOURS_PER_UNIT),
        hours_per_unit=st.sampled_from([Decimal(1), Decimal(3), Decimal(10), Decimal("2.5")]),
        cap_units=st.one_of(st.none(), st.sampled_from([Decimal(1), Decimal(30), Decimal("7.5")])),
        decimals=st.integers(1, 2),
    ),
    st.builds(
        ConversionRule,
        kind=st.just(RuleKind.CREDENTIALS_PER_UNIT),
        credentials_per_unit=st.integers(1, 4),
        cap_units=st.one_of(st.none(), st.sampled_from([Decimal(1), Decimal(15)])),
        decimals=st.just(0),
    ),
)


def _records(raw: list[tuple[Decimal, int, str]]) -> list[RecordFacts]:
    return [record(h, c, kind=k, n=i) for i, (h, c, k) in enumerate(raw)]


@given(rule=_rules, raw=_facts, only_stacks=st.booleans())
def test_table_agrees_with_units_for_applied_cumulatively_and_keeps_the_cap(
    rule: ConversionRule, raw: list[tuple[Decimal, int, str]], only_stacks: bool
) -> None:
    profile = office(rule, kinds={"stack"} if only_stacks else None)
    given_records = _records(raw)
    table = units_table(profile, given_records)
    accepted: list[RecordFacts] = []
    for facts, units in table:
        if accepts(profile, facts):
            assert units == units_for(rule, facts, accepted)
            accepted.append(facts)
        else:
            assert units == 0
        assert units >= 0
        assert units == units.quantize(rule.quantum)
    total = sum((units for _, units in table), Decimal(0))
    no_cap = office(replace(rule, cap_units=None), kinds=set(profile.accepts))
    uncapped = sum((units for _, units in units_table(no_cap, given_records)), Decimal(0))
    if rule.cap_units is not None:
        assert total <= rule.cap_units
        assert total == min(rule.cap_units, uncapped)
    else:
        assert total == uncapped


@given(raw=_facts)
def test_md_total_is_half_the_credentials_rounded_down(raw: list[tuple[Decimal, int, str]]) -> None:
    given_records = _records(raw)
    table = units_table(office(MD), given_records)
    total = sum((units for _, units in table), Decimal(0))
    assert total == sum(r.credential_count for r in given_records) // 2
