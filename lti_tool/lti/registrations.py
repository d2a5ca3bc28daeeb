"""Platform registrations (issuer + client id) and their deployments, all in the database, many at once.

``DbToolConf`` is pylti1p3's ``ToolConfAbstract`` over these tables, so pylti1p3's service connector
(AGS, NRPS, deep-linking JWTs) sees the same registrations and our current signing key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pylti1p3.deployment import Deployment as PyltiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import and_, bindparam, select

from ..db import Database
from ..db.models import Deployment, Platform
from ..url_policy import check_platform_url
from . import keys

_PLATFORMS, _DEPLOYMENTS = Platform.__table__, Deployment.__table__

# The login and the launch both ask, in one statement built once: the issuer's active registrations,
# each with the named deployment (its primary key) when it has one. Parameters: b_issuer, b_deployment_id
# (not named after columns: inside a statement that writes oidc_states, SQLAlchemy would take a parameter
# named like one of its columns, deployment_id, as a value to write).
REGISTRATIONS_OF_ISSUER = (
    select(
        _PLATFORMS.c.id,
        _PLATFORMS.c.client_id,
        _PLATFORMS.c.auth_login_url,
        _PLATFORMS.c.jwks_url,
        _DEPLOYMENTS.c.id.label("deployment_pk"),
    )
    .select_from(
        _PLATFORMS.outerjoin(
            _DEPLOYMENTS,
            and_(
                _DEPLOYMENTS.c.platform_id == _PLATFORMS.c.id,
                _DEPLOYMENTS.c.deployment_id == bindparam("b_deployment_id"),
            ),
        )
    )
    .where(_PLATFORMS.c.issuer == bindparam("b_issuer"), _PLATFORMS.c.active.is_(True))
)
# The same, narrowed to one client id (parameter b_client_id).
REGISTRATIONS_OF_CLIENT = REGISTRATIONS_OF_ISSUER.where(_PLATFORMS.c.client_id == bindparam("b_client_id"))


@dataclass(frozen=True)
class PlatformInfo:
    id: int
    issuer: str
    client_id: str
    name: str
    auth_login_url: str
    auth_token_url: str
    auth_token_audience: str | None
    jwks_url: str
    product_family: str
    active: bool
    deployment_ids: tuple[str, ...]


def check_registration_urls(urls: dict[str, str | None], *, development: bool) -> None:
    """Raise UnsafeUrl for the first URL of a registration that the URL policy refuses.
    ``auth_token_audience`` may be any string (Canvas and others use a URL; it is only compared)."""
    for field, url in urls.items():
        if field == "auth_token_audience" and (url is None or not url.startswith(("http:", "https:"))):
            continue
        check_platform_url(url, field, development=development)


def _info(platform: Platform, deployment_ids: list[str]) -> PlatformInfo:
    return PlatformInfo(
        id=platform.id,
        issuer=platform.issuer,
        client_id=platform.client_id,
        name=platform.name,
        auth_login_url=platform.auth_login_url,
        auth_token_url=platform.auth_token_url,
        auth_token_audience=platform.auth_token_audience,
        jwks_url=platform.jwks_url,
        product_family=platform.product_family,
        active=platform.active,
        deployment_ids=tuple(sorted(deployment_ids)),
    )


def _deployment_ids(session: Any, platform_id: int) -> list[str]:
    return list(
        session.scalars(select(Deployment.deployment_id).where(Deployment.platform_id == platform_id))
    )


def platforms_for_issuer(db: Database, issuer: str) -> list[PlatformInfo]:
    with db.read() as session:
        rows = session.scalars(
            select(Platform).where(Platform.issuer == issuer, Platform.active.is_(True))
        ).all()
        return [_info(p, []) for p in rows]


def find_platform(db: Database, issuer: str, client_id: str) -> PlatformInfo | None:
    with db.read() as session:
        platform = session.scalars(
            select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
        ).first()
        if platform is None:
            return None
        return _info(platform, _deployment_ids(session, platform.id))


def get_platform(db: Database, platform_id: int) -> PlatformInfo | None:
    with db.read() as session:
        platform = session.get(Platform, platform_id)
        return None if platform is None else _info(platform, _deployment_ids(session, platform.id))


def list_platforms(db: Database) -> list[PlatformInfo]:
    with db.read() as session:
        rows = session.scalars(select(Platform).order_by(Platform.issuer, Platform.client_id)).all()
        return [_info(p, _deployment_ids(session, p.id)) for p in rows]


def save_platform(
    db: Database,
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    jwks_url: str,
    name: str = "",
    auth_token_audience: str | None = None,
    product_family: str = "",
    deployment_ids: tuple[str, ...] | list[str] = (),
    development: bool = False,
) -> PlatformInfo:
    """Create or update a registration (issuer + client id) and add the given deployments.

    Every URL must pass ``url_policy.check_platform_url`` (https://, a public host; http:// and local hosts
    only in development): raises UnsafeUrl naming the field otherwise."""
    check_registration_urls(
        {
            "issuer": issuer,
            "auth_login_url": auth_login_url,
            "auth_token_url": auth_token_url,
            "jwks_url": jwks_url,
            "auth_token_audience": auth_token_audience,
        },
        development=development,
    )
    with db.transaction() as session:
        platform = session.scalars(
            select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
        ).first()
        if platform is None:
            platform = Platform(issuer=issuer, client_id=client_id)
            session.add(platform)
        platform.auth_login_url = auth_login_url
        platform.auth_token_url = auth_token_url
        platform.auth_token_audience = auth_token_audience
        platform.jwks_url = jwks_url
        platform.name = name or platform.name or issuer
        platform.product_family = product_family or platform.product_family or ""
        platform.active = True
        session.flush()
        known = set(_deployment_ids(session, platform.id))
        for deployment_id in deployment_ids:
            if deployment_id not in known:
                session.add(Deployment(platform_id=platform.id, deployment_id=deployment_id))
                known.add(deployment_id)
        session.flush()
        return _info(platform, list(known))


def add_deployment(db: Database, issuer: str, client_id: str, deployment_id: str) -> PlatformInfo:
    with db.transaction() as session:
        platform = session.scalars(
            select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
        ).first()
        if platform is None:
            raise LookupError(f"no platform with issuer {issuer} and client id {client_id}")
        known = set(_deployment_ids(session, platform.id))
        if deployment_id not in known:
            session.add(Deployment(platform_id=platform.id, deployment_id=deployment_id))
            known.add(deployment_id)
        session.flush()
        return _info(platform, list(known))


def remove_platform(db: Database, issuer: str, client_id: str) -> bool:
    """Deactivate a registration: its launches are refused from now on; its people and records stay."""
    with db.transaction() as session:
        platform = session.scalars(
            select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
        ).first()
        if platform is None:
            return False
        platform.active = False
        return True


class _DbRegistration(Registration):
    """pylti1p3 derives a kid from the public key; ours is the one published in /lti/jwks.json."""

    def __init__(self, kid: str) -> None:
        super().__init__()
        self._published_kid = kid

    def get_kid(self) -> str | None:
        return self._published_kid


class DbToolConf(ToolConfAbstract):  # type: ignore[type-arg]
    """pylti1p3 tool configuration read from our tables; every registration signs with our current key."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    def _registration(self, platform: PlatformInfo | None) -> Registration | None:
        if platform is None or not platform.active:
            return None
        kid, pem = keys.active_signing_key(self.db)
        reg = _DbRegistration(kid)
        reg.set_issuer(platform.issuer).set_client_id(platform.client_id)
        reg.set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
        reg.set_auth_audience(platform.auth_token_audience or platform.auth_token_url)
        reg.set_key_set_url(platform.jwks_url).set_tool_private_key(pem)
        return reg

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration | None:
        platforms = platforms_for_issuer(self.db, iss)
        return self._registration(platforms[0]) if len(platforms) == 1 else None

    def find_registration_by_params(
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Registration | None:
        return self._registration(find_platform(self.db, iss, client_id))

    def find_deployment(self, iss: str, deployment_id: str) -> PyltiDeployment | None:
        platforms = platforms_for_issuer(self.db, iss)
        if len(platforms) != 1:
            return None
        return self.find_deployment_by_params(iss, deployment_id, platforms[0].client_id)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> PyltiDeployment | None:
        platform = find_platform(self.db, iss, client_id)
        if platform is None or deployment_id not in platform.deployment_ids:
            return None
        return PyltiDeployment().set_deployment_id(deployment_id)
