"""Roster file layouts: the cells of one row, from one delivered record's payload (v1). Pure functions.

Two layouts:

- ``generic``: the tool's own CSV, one row per record event with a header row; ``status`` is the record's
  state when the file is made (``valid`` or ``revoked``), so a roster for a past period shows what was
  revoked since.
- ``ce_broker``: CE Broker's roster upload ("Creating Excel Files (Full Course Credit)", CE Broker help
  centre, https://help.cebroker.com/hc/en-us/articles/15226514662548): column A the provider tracking number
  without its "50-" prefix, B the course tracking number without "20-", C the provider's own course id
  (used instead of B), D a publishing number (optional, blank for most providers), E the licence number,
  F the completion date in Excel's date format (12/3/2008: month/day/year, no leading zeros), G
  ``State=XX``, H ``Profession=CODE``. The instructions place data by column letter and show no header
  row, so none is written: the file, saved as .xls, uploads as it is.

Every cell goes through ``safe_cell``: a value a spreadsheet would run as a formula (starting with =, +, -,
@, a tab or a carriage return) gets a leading apostrophe, so a learner-entered name cannot run in the
office's spreadsheet; commas, quotes and newlines are left to the CSV writer's quoting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..domain.licensure import CeBrokerIds

GENERIC_COLUMNS: tuple[str, ...] = (
    "record_id",
    "event",
    "status",
    "legal_name",
    "state",
    "licence_number",
    "course_key",
    "course_title",
    "award_kind",
    "award_key",
    "award_title",
    "contact_hours",
    "ceus",
    "office_units",
    "office_unit",
    "completed_date",
    "issued_date",
    "revoked_date",
    "verification_url",
)
CE_BROKER_COLUMNS: tuple[str, ...] = (
    "provider_tracking_number",
    "course_tracking_number",
    "provider_course_id",
    "publishing_number",
    "license_number",
    "completion_date",
    "state",
    "profession",
)
VALID = "valid"
REVOKED = "revoked"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """``value`` as text a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso_date(value: object) -> str:
    """The UTC date of a payload time, as 2026-12-01 ("" when there is none)."""
    moment = _time(value)
    return moment.astimezone(UTC).date().isoformat() if moment else ""


def excel_date(value: object) -> str:
    """The UTC date of a payload time as CE Broker's upload takes it: 12/3/2008."""
    moment = _time(value)
    if moment is None:
        return ""
    day = moment.astimezone(UTC).date()
    return f"{day.month}/{day.day}/{day.year}"


def _section(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = payload.get(name)
    return value if isinstance(value, Mapping) else {}


def generic_row(payload: Mapping[str, Any], status: str) -> list[str]:
    """The generic layout's cells for one record event (columns as ``GENERIC_COLUMNS``)."""
    educator = _section(payload, "educator")
    course = _section(payload, "course")
    award = _section(payload, "award")
    units = _section(payload, "office_units")
    cells: Sequence[object] = (
        payload.get("record_id"),
        payload.get("event"),
        status,
        educator.get("legal_name"),
        educator.get("state"),
        educator.get("licence_number"),
        course.get("key"),
        course.get("title"),
        award.get("kind"),
        award.get("key"),
        award.get("title"),
        award.get("contact_hours"),
        award.get("ceus"),
        units.get("amount"),
        units.get("unit"),
        iso_date(award.get("completed_at")),
        iso_date(payload.get("issued_at")),
        iso_date(payload.get("revoked_at")),
        payload.get("verification_url"),
    )
    return [safe_cell(c) for c in cells]


def _without_prefix(number: str, prefix: str) -> str:
    # CE Broker prints tracking numbers as 50-1234 (providers) and 20-5678 (courses); the upload wants the
    # digits after the prefix, and operators copy them either way.
    number = number.strip()
    return number[len(prefix) :] if number.startswith(prefix) else number


def ce_broker_row(payload: Mapping[str, Any], ids: CeBrokerIds, default_state: str = "") -> list[str]:
    """CE Broker's roster upload cells for one completion (columns as ``CE_BROKER_COLUMNS``).

    The state is the educator's licence state, or ``default_state`` (the office's) when none is recorded."""
    educator = _section(payload, "educator")
    award = _section(payload, "award")
    state = str(educator.get("state") or default_state).upper()
    cells: Sequence[object] = (
        _without_prefix(ids.provider_number, "50-"),
        _without_prefix(ids.course_number, "20-"),
        "",
        "",
        educator.get("licence_number"),
        excel_date(award.get("completed_at") or payload.get("issued_at")),
        f"State={state}" if state else "",
        f"Profession={ids.profession}" if ids.profession else "",
    )
    return [safe_cell(c) for c in cells]
