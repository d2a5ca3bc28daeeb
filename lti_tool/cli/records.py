"""``lti-tool records parked|redeliver``: office pushes that ran out of attempts, and sending them again;
``records export``: an office's roster file for a period."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..domain.licensure import FileLayout
from ..services import office_delivery
from ..services.office_exports import ExportRefused, check_export, write_roster


@click.group("records")
def records_group() -> None:
    """CEU records sent to licensure offices."""


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@records_group.command("parked")
@click.option("--office", "office_key", help="Only this office (its key).")
@with_appcontext
def parked_command(office_key: str | None) -> None:
    """Deliveries parked after their last attempt: id, office, record, attempts, last error, parked at."""
    rows = office_delivery.parked(current_app.extensions["db"], office_key)
    if not rows:
        click.echo("no parked deliveries" + (f" for office {office_key}" if office_key else ""))
        return
    click.echo(
        f"{'ID':>8}  {'OFFICE':<12}  {'RECORD':<16}  {'EVENT':<7}  {'TRIES':>5}  {'PARKED AT':<20}  ERROR"
    )
    for row in rows:
        parked_at = row.parked_at.strftime("%Y-%m-%d %H:%M:%SZ") if row.parked_at else "-"
        click.echo(
            f"{row.id:>8}  {_cell(row.office_key, 12):<12}  {row.record_id:<16}  {row.event:<7}  "
            f"{row.attempts:>5}  {parked_at:<20}  {_cell(row.last_error, 200)}"
        )
    click.echo(f"{len(rows)} parked; send them again with: lti-tool records redeliver ID... | --all-parked")


@records_group.command("redeliver")
@click.argument("delivery_ids", nargs=-1, type=int)
@click.option("--all-parked", is_flag=True, help="Every parked delivery (with --office: of that office).")
@click.option("--office", "office_key", help="With --all-parked: only this office.")
@with_appcontext
def redeliver_command(delivery_ids: tuple[int, ...], all_parked: bool, office_key: str | None) -> None:
    """Queue parked deliveries again (a fresh set of attempts); the worker sends them."""
    if bool(delivery_ids) == all_parked:
        raise click.UsageError("name delivery ids, or --all-parked (not both)")
    if office_key and not all_parked:
        raise click.UsageError("--office goes with --all-parked")
    result = office_delivery.redeliver(
        current_app.extensions["db"],
        delivery_ids,
        all_parked=all_parked,
        office_key=office_key,
        actor=f"cli:{_operator()}",
    )
    for delivery_id, reason in sorted(result.skipped.items()):
        click.echo(f"skipped {delivery_id}: {reason}", err=True)
    click.echo(f"queued {len(result.queued)} deliver{'y' if len(result.queued) == 1 else 'ies'} again")
    if result.queued:
        from ..tasks.outbox import drain_outbox

        # With a broker the worker drains; embedded (tasks in-process) this drains now, before exiting.
        drain_outbox.delay()
    if delivery_ids and not result.queued:
        raise SystemExit(1)


def _operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# --- roster exports ---------------------------------------------------------------------------------------


def _moment(value: str, option: str) -> datetime:
    """A date (midnight UTC) or an ISO time with its offset (a time without one is taken as UTC)."""
    from datetime import UTC

    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2026-12-01) or a time", param_hint=option
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@records_group.command("export")
@click.option("--office", "office_key", required=True, help="The office's key (see `lti-tool offices list`).")
@click.option("--from", "start", required=True, help="First day (or time) of the period, UTC; included.")
@click.option("--to", "end", required=True, help="End of the period, UTC; not included (--to 2027-01-01).")
@click.option(
    "--layout",
    type=click.Choice([layout.value for layout in FileLayout]),
    default=FileLayout.GENERIC.value,
    show_default=True,
    help="generic: every column, with the record's status now; ce_broker: CE Broker's roster upload.",
)
@click.option("--output", default="-", show_default=True, help="File to write, or - for standard output.")
@with_appcontext
def export_command(office_key: str, start: str, end: str, layout: str, output: str) -> None:
    """Write OFFICE's issued records of [--from, --to) as CSV, streamed however many there are."""
    offices = current_app.extensions["offices"]
    office = offices.get(office_key)
    if office is None:
        known = ", ".join(sorted(offices)) or "none"
        raise click.BadParameter(f"no office {office_key!r}; known offices: {known}", param_hint="--office")
    period = _moment(start, "--from"), _moment(end, "--to")
    db = current_app.extensions["db"]
    try:
        check_export(office, FileLayout(layout), *period)
        if output == "-":
            summary = write_roster(db, office, FileLayout(layout), *period, sys.stdout)
        else:
            target = Path(output)
            partial = target.with_name(f".{target.name}.partial")
            # Written aside and renamed: an interrupted export never leaves a file that looks complete.
            with partial.open("w", encoding="utf-8", newline="") as out:
                summary = write_roster(db, office, FileLayout(layout), *period, out)
            partial.replace(target)
    except ExportRefused as exc:
        raise click.ClickException(exc.message) from None
    left_out = f" ({summary.revoked_left_out} revoked left out)" if summary.revoked_left_out else ""
    click.echo(f"{summary.rows} record(s) for {office_key}, {layout} layout{left_out}", err=True)


@records_group.command("revoke")
@click.argument("record_id")
@click.option("--reason", required=True, help="Why: the learner and the offices that received it are told.")
@with_appcontext
def revoke_command(record_id: str, reason: str) -> None:
    """Revoke an earned micro-credential by its record id (its badge's, on its verification page): the CEU
    records that depended on it are revoked with it and every office that received one is told."""
    from ..services import revocation
    from ..services.errors import ServiceError

    try:
        done = revocation.revoke_credential(
            current_app.extensions["db"], record_id, reason, actor=f"operator:{_operator()}"
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Revoked {done.credential}: {', '.join(done.revoked_records)}")
    click.echo(f"Offices to be told: {done.offices_notified}")
