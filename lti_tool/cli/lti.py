"""``lti-tool platforms ...`` and ``lti-tool keys ...``: LTI registrations and the tool's signing keys."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from ..config import Settings
from ..db import Database
from ..db.base import utcnow
from ..lti import invites, keys, registrations
from ..url_policy import UnsafeUrl


def _db() -> Database:
    db: Database = current_app.extensions["db"]
    return db


def _settings() -> Settings:
    settings: Settings = current_app.extensions["settings"]
    return settings


@click.group("platforms")
def platforms_group() -> None:
    """LTI 1.3 platform registrations (issuer + client id) and their deployments."""


@platforms_group.command("add")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization endpoint.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 token endpoint.")
@click.option("--jwks-url", required=True, help="The platform's public key set.")
@click.option("--auth-token-audience", default=None, help="aud for client assertions (default: token URL).")
@click.option("--deployment", "deployments", multiple=True, help="A deployment id (repeatable).")
@click.option("--name", default="")
@with_appcontext
def add_platform(
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    jwks_url: str,
    auth_token_audience: str | None,
    deployments: tuple[str, ...],
    name: str,
) -> None:
    """Register (or update) a platform. Its URLs must be https:// (http:// only in development mode)."""
    try:
        info = registrations.save_platform(
            _db(),
            issuer=issuer,
            client_id=client_id,
            auth_login_url=auth_login_url,
            auth_token_url=auth_token_url,
            jwks_url=jwks_url,
            auth_token_audience=auth_token_audience,
            name=name,
            deployment_ids=deployments,
            development=_settings().development,
        )
    except UnsafeUrl as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"platform {info.id}: {info.issuer} client {info.client_id} "
        f"deployments {','.join(info.deployment_ids)}"
    )


@platforms_group.command("list")
@with_appcontext
def list_platforms() -> None:
    """List registrations."""
    for p in registrations.list_platforms(_db()):
        state = "active" if p.active else "removed"
        click.echo(
            f"{p.id}\t{p.issuer}\t{p.client_id}\t{state}\tdeployments={','.join(p.deployment_ids) or '-'}"
            f"\tjwks={p.jwks_url}"
        )


@platforms_group.command("invite")
@click.option("--hours", default=24.0, show_default=True, type=float, help="How long the invite is valid.")
@click.option("--note", default="", help="Whom the invite is for (shown by `platforms invites`).")
@with_appcontext
def invite_platform(hours: float, note: str) -> None:
    """Open Dynamic Registration for one platform: prints a one-time registration URL (last line).

    Paste the URL into the LMS (Moodle: Manage tools -> Tool URL -> Add LTI Advantage; Canvas: an
    LTI Registration key). The registration it makes is active at once; the URL then stops working."""
    try:
        invite = invites.create_invite(_db(), timedelta(hours=hours), note)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    base = _settings().base_url
    click.echo(f"invite {invite.id} valid until {invite.expires_at.isoformat()} (one registration)")
    click.echo(f"{base}/lti/register?{invites.INVITE_PARAM}={invite.token}")


@platforms_group.command("invites")
@with_appcontext
def list_invites() -> None:
    """List registration invites: open, used (with the platform they made) or expired."""
    now = utcnow()
    for i in invites.list_invites(_db()):
        if i.platform_id is not None:
            state = f"used platform={i.platform_id}"
        elif i.used_at is not None:
            state = "in use"
        elif i.expires_at <= now:
            state = "expired"
        else:
            state = "open"
        click.echo(f"{i.id}\t{state}\texpires={i.expires_at.isoformat()}\t{i.note}")


@platforms_group.command("revoke-invite")
@click.argument("invite_id", type=int)
@with_appcontext
def revoke_invite(invite_id: int) -> None:
    """End an unused invite now."""
    if not invites.revoke_invite(_db(), invite_id):
        raise click.ClickException(f"no unused invite {invite_id}")
    click.echo(f"invite {invite_id} revoked")


@platforms_group.group("deployments")
def deployments_group() -> None:
    """Deployments of a registered platform."""


@deployments_group.command("add")
@click.argument("issuer")
@click.argument("client_id")
@click.argument("deployment_id")
@with_appcontext
def add_deployment(issuer: str, client_id: str, deployment_id: str) -> None:
    """Add DEPLOYMENT_ID to the platform ISSUER + CLIENT_ID."""
    try:
        info = registrations.add_deployment(_db(), issuer, client_id, deployment_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"platform {info.id} deployments {','.join(info.deployment_ids)}")


@platforms_group.command("remove")
@click.argument("issuer")
@click.argument("client_id")
@with_appcontext
def remove_platform(issuer: str, client_id: str) -> None:
    """Stop accepting launches from ISSUER + CLIENT_ID (people and records are kept)."""
    if not registrations.remove_platform(_db(), issuer, client_id):
        raise click.ClickException(f"no platform with issuer {issuer} and client id {client_id}")
    click.echo(f"removed {issuer} {client_id}")


@click.group("keys")
def keys_group() -> None:
    """The tool's signing keys (published at /lti/jwks.json)."""


@keys_group.command("rotate")
@click.option("--grace-hours", default=keys.DEFAULT_GRACE_HOURS, show_default=True, type=float)
@with_appcontext
def rotate_keys(grace_hours: float) -> None:
    """Sign with a new key; the previous key stays published for the grace period."""
    kid = keys.rotate(_db(), grace_hours)
    click.echo(f"new signing key {kid}")


@keys_group.command("list")
@with_appcontext
def list_keys() -> None:
    """List keys with their status (active, grace, retired)."""
    for key in keys.list_keys(_db()):
        until = key.published_until.isoformat() if key.published_until else "-"
        click.echo(f"{key.kid}\t{key.status}\tcreated={key.created_at.isoformat()}\tpublished_until={until}")
