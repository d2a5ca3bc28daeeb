"""``lti-tool offices list|check``: the licensure office profiles operators edit (licensure_offices/);
``offices token-create|tokens|token-revoke``: the tokens offices pull their records with."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..config import REPO_ROOT
from ..domain.licensure import OfficeProfile, describe_office
from ..records.offices import validate_offices
from ..services.errors import NotFound
from ..services.office_tokens import UnknownOffice, create_token, list_tokens, revoke_token


@click.group("offices")
def offices_group() -> None:
    """Licensure office profiles (licensure_offices/<key>.yaml)."""


def _receives(office: OfficeProfile) -> str:
    ways = []
    if office.push is not None:
        ways.append(f"push {office.push.url} (secret in ${office.push.secret_env})")
    if office.pull:
        ways.append("pull")
    if office.file_layouts:
        ways.append("files " + "+".join(office.file_layouts))
    return ", ".join(ways) or "nothing (educators see the units only)"


@offices_group.command("list")
@with_appcontext
def list_command() -> None:
    """The offices loaded at start-up: key, name, unit, rule and how each receives records."""
    offices: dict[str, OfficeProfile] = current_app.extensions["offices"]
    if not offices:
        click.echo(f"no licensure offices in {current_app.extensions['settings'].offices_dir}")
    for key, office in sorted(offices.items()):
        click.echo(
            f"{key}\t{office.name} ({office.state})\t{office.unit_plural}\t{describe_office(office)}\t"
            f"receives: {_receives(office)}"
        )


@offices_group.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option(
    "--development/--production",
    default=None,
    help="Allow http:// and private push hosts (default: the DEVELOPMENT setting).",
)
def check_command(directory: Path | None, development: bool | None) -> None:
    """Check the office files in DIRECTORY (default: OFFICES_DIR); print every problem as
    file:line:column: field: message, and exit 1 if any is an error.

    It needs no app: the app itself refuses to start on a bad office file, and this is how to find why."""
    if directory is None:
        directory = Path(os.environ.get("OFFICES_DIR") or REPO_ROOT / "licensure_offices")
    if development is None:
        development = os.environ.get("DEVELOPMENT", "").strip().lower() in {"1", "true", "yes", "on"}
    problems = validate_offices(directory, development=development)
    for problem in problems:
        click.echo(str(problem), err=problem.is_error)
    errors = sum(p.is_error for p in problems)
    if errors:
        click.echo(f"INVALID {directory.as_posix()}: {errors} error(s)", err=True)
        raise SystemExit(1)
    count = len(list(directory.glob("*.yaml")))
    click.echo(f"OK {directory.as_posix()}: {count} office{'s' if count != 1 else ''}")


# --- pull API tokens ------------------------------------------------------------------------------------


def _office_keys() -> list[str]:
    return sorted(current_app.extensions["offices"])


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


@offices_group.command("token-create")
@click.argument("office")
@click.option("--label", default="", help="Who or what the token is for (shown by `offices tokens`).")
@with_appcontext
def token_create_command(office: str, label: str) -> None:
    """Create a pull API token for OFFICE and print it once: only its hash is kept."""
    try:
        created = create_token(current_app.extensions["db"], office, _office_keys(), label)
    except UnknownOffice as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"token {created.info.id} for {office}{f' ({label})' if label else ''}:", err=True)
    click.echo(created.token)
    click.echo("Give it to the office now: it cannot be shown again.", err=True)


@offices_group.command("tokens")
@click.option("--office", default=None, help="Only this office's tokens.")
@with_appcontext
def tokens_command(office: str | None) -> None:
    """List pull API tokens: id, office, label, created, last used, revoked."""
    rows = list_tokens(current_app.extensions["db"], office)
    if not rows:
        click.echo("no office tokens")
    for t in rows:
        state = f"revoked {_when(t.revoked_at)}" if t.revoked_at else "live"
        click.echo(
            f"{t.id}\t{t.office_key}\t{t.label or '-'}\tcreated {_when(t.created_at)}\t"
            f"last used {_when(t.last_used_at)}\t{state}"
        )


@offices_group.command("token-revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke_command(token_id: int) -> None:
    """Revoke token TOKEN_ID (from `offices tokens`): the office's next request is refused."""
    try:
        info = revoke_token(current_app.extensions["db"], token_id)
    except NotFound as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"revoked token {info.id} of {info.office_key} ({_when(info.revoked_at)})")
