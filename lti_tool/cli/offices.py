"""``lti-tool offices list|check``: the licensure office profiles operators edit (licensure_offices/)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..config import REPO_ROOT
from ..domain.licensure import OfficeProfile, describe_office
from ..records.offices import validate_offices


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
