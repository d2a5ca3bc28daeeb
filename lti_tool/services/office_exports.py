"""Roster exports: one office's issued records of a period, as CSV in the generic or CE Broker layout.

Rows are streamed from the database (``yield_per``: a server-side cursor on PostgreSQL, fetched in batches
on SQLite) and written as they come, so memory stays flat for any number of records. The period is the
time the record was made for the office, [start, end): consecutive periods never share or miss a record.

A record revoked since it was issued stays in the generic layout with ``status`` revoked (the office filed
it and must learn it no longer stands); CE Broker's upload has no status column and would award credit for
any row, so the CE Broker file leaves revoked records out and counts them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select

from ..db import Database
from ..db.records_models import Award, OfficeDelivery
from ..domain.licensure import FileLayout, OfficeProfile
from ..records.offices import PLACEHOLDER_PREFIX
from ..records.rosters import GENERIC_COLUMNS, REVOKED, VALID, ce_broker_row, generic_row
from .errors import ServiceError

BATCH = 1000


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


class ExportRefused(ServiceError):
    pass


@dataclass
class ExportSummary:
    rows: int = 0
    revoked_left_out: int = 0


def check_export(office: OfficeProfile, layout: FileLayout, start: datetime, end: datetime) -> None:
    if end <= start:
        raise ExportRefused("invalid_period", "The period is empty: --to must be after --from.")
    if layout is FileLayout.CE_BROKER:
        ids = office.ce_broker
        if ids is None:
            raise ExportRefused(
                "no_ce_broker_ids",
                f"Office {office.key} has no ce_broker section (provider_number, course_number, profession) "
                "in its profile; add it to export in CE Broker's layout.",
            )
        if any(n.startswith(PLACEHOLDER_PREFIX) for n in (ids.provider_number, ids.course_number)):
            # CE Broker would reject every row, or worse, file them under someone else's numbers.
            raise ExportRefused(
                "ce_broker_placeholder",
                f"Office {office.key}'s ce_broker numbers are still placeholders: write the provider and "
                "course numbers CE Broker assigned in its profile.",
            )


def _issued(db: Database, office_key: str, start: datetime, end: datetime) -> Iterator[tuple[Any, bool]]:
    """(payload, revoked now) of every issued event for ``office_key`` in [start, end), in id order."""
    query = (
        select(OfficeDelivery.payload, Award.revoked_at)
        .join(Award, Award.id == OfficeDelivery.award_id)
        .where(
            OfficeDelivery.office_key == office_key,
            OfficeDelivery.event == "issued",
            OfficeDelivery.created_at >= start,
            OfficeDelivery.created_at < end,
        )
        .order_by(OfficeDelivery.id)
        .execution_options(yield_per=BATCH)
    )
    with db.read() as session:
        for payload, revoked_at in session.execute(query):
            yield payload, revoked_at is not None


def roster_rows(
    db: Database,
    office: OfficeProfile,
    layout: FileLayout,
    start: datetime,
    end: datetime,
    summary: ExportSummary | None = None,
) -> Iterator[list[str]]:
    """The roster's rows, header first when the layout has one; ``summary`` counts as they go."""
    check_export(office, layout, start, end)
    summary = summary if summary is not None else ExportSummary()
    if layout is FileLayout.GENERIC:
        yield list(GENERIC_COLUMNS)
    for payload, revoked in _issued(db, office.key, start, end):
        if layout is FileLayout.GENERIC:
            row = generic_row(payload, REVOKED if revoked else VALID)
        elif revoked:
            summary.revoked_left_out += 1
            continue
        else:
            assert office.ce_broker is not None
            row = ce_broker_row(payload, office.ce_broker, office.state)
        summary.rows += 1
        yield row


def write_roster(
    db: Database, office: OfficeProfile, layout: FileLayout, start: datetime, end: datetime, out: _Writable
) -> ExportSummary:
    """Write the roster as CSV (RFC 4180: CRLF line ends, fields with commas, quotes or newlines quoted)."""
    summary = ExportSummary()
    csv.writer(out, lineterminator="\r\n").writerows(roster_rows(db, office, layout, start, end, summary))
    return summary
