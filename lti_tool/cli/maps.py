"""``lti-tool course-maps validate|load|list``: check and load the course maps designers write."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..maps import CourseMapInvalid, read_course_map, validate_course_map
from ..services.course_maps import discover_maps, list_courses, load_course_maps

_paths = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


@click.group("course-maps")
def maps_group() -> None:
    """Course maps (course_maps/<course>/course.yaml + credentials/)."""


def _expand(paths: tuple[Path, ...]) -> list[Path]:
    """A PATH is a map directory, or a directory of maps (like course_maps/); none means COURSE_MAPS_DIR."""
    if not paths:
        paths = (current_app.extensions["settings"].course_maps_dir,)
    expanded: list[Path] = []
    for path in paths:
        inner = [] if (path / "course.yaml").exists() else discover_maps(path)
        expanded += inner or [path]
    return expanded


@maps_group.command("validate")
@_paths
@with_appcontext
def validate_command(paths: tuple[Path, ...]) -> None:
    """Check each map in PATHS; print every problem as file:line:column: field: message."""
    failed = False
    for path in _expand(paths):
        problems = validate_course_map(path)
        for problem in problems:
            click.echo(str(problem), err=problem.is_error)
        if any(p.is_error for p in problems):
            failed = True
            click.echo(f"INVALID {path.as_posix()}: {sum(p.is_error for p in problems)} error(s)", err=True)
            continue
        course_map = read_course_map(path).course_map
        stacks, credentials = len(course_map.stacks), len(course_map.credentials)
        click.echo(f"OK {path.as_posix()}: {stacks} stacks, {credentials} credentials")
    if failed:
        raise SystemExit(1)


@maps_group.command("load")
@_paths
@with_appcontext
def load_command(paths: tuple[Path, ...]) -> None:
    """Validate, then load the maps in PATHS; an edited map becomes a new revision. Invalid: nothing loads."""
    try:
        results = load_course_maps(current_app.extensions["db"], _expand(paths))
    except CourseMapInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo("nothing loaded: fix the errors above and run again", err=True)
        raise SystemExit(1) from None
    for result in results:
        where = f"{result.course_key}: revision {result.revision} (version id {result.version_id})"
        if result.created:
            click.echo(f"loaded {where}, now current")
        elif result.became_current:
            click.echo(f"unchanged content of {where}, which is current again")
        else:
            click.echo(f"unchanged {where}")


@maps_group.command("list")
@with_appcontext
def list_command() -> None:
    """The loaded courses and their current versions."""
    courses = list_courses(current_app.extensions["db"])
    if not courses:
        click.echo("no course maps loaded (run: lti-tool course-maps load)")
    for c in courses:
        click.echo(
            f"{c.key}\t{c.title}\tversion {c.version_label}\trevision {c.revision} (id {c.version_id})\t"
            f"{c.stacks} stacks, {c.credentials} credentials"
        )
