"""PostgreSQL: a launch accepted in ONE autocommitted statement when every check can be made before it.

The token is checked in process first, with the same functions ``launch.verify_launch`` uses: readable
RS256 JWS, the registration it is addressed to (from ``RegistrationCache``), the platform's key (from the
key cache's memory), signature, times, deployment, message type and version, roles, claims. Then one
statement consumes the login's state under every condition ``verify_launch`` checks against it (unused,
this platform, this nonce, not expired, the deployment and target_link_uri given at login), only while
the registration is still active with that client id, key set URL and deployment and the nonce is new, and
in the same statement writes the launch (``services.launches.launch_writes_pg``, gated on that consumption).

It returns None, having written nothing, whenever it cannot accept: no state cookie (the browser-binding
checks need the state's row), a key not in memory, any check refused, a teacher whose editors list must
be read, or a statement that matched no state (unknown, used, expired, another nonce or deployment, or a
registration changed since it was cached). The caller then runs the transactional path
(``accept.accept_launch``), which reads everything from the database and names the refusal, or accepts.
What changes is the number of round trips (one, no BEGIN or COMMIT, instead of four), not what is accepted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, or_, update

from ..db import Database
from ..db.lti_models import OidcState, UsedNonce
from ..db.models import Deployment, Platform
from ..domain.roles import LEARNER
from ..services.editors import reads_editors_list
from ..services.launches import LaunchRecord, launch_record_of, launch_write_params, launch_writes_pg
from . import claims as c
from .errors import LtiRefused
from .jwks_cache import PlatformKeyCache
from .launch import (
    VerifiedLaunch,
    course_roles,
    message_type_of,
    nonce_expiry,
    read_token,
    registered_deployment,
    registration_for,
    verified_claims,
)
from .launch_facts import facts_of
from .registration_cache import RegistrationCache
from .roles import landing_role

_STATES: Any = OidcState.__table__
_NONCES: Any = UsedNonce.__table__
_PLATFORMS: Any = Platform.__table__
_DEPLOYMENTS: Any = Deployment.__table__


def _consume_state() -> Any:
    """The login's state, marked used when it is this launch's in every respect (``s_``-prefixed
    parameters: names of oidc_states' columns would be taken as values to write)."""
    platform_id = bindparam("s_platform_id")
    still_registered = exists().where(
        _PLATFORMS.c.id == platform_id,
        _PLATFORMS.c.active.is_(True),
        _PLATFORMS.c.client_id == bindparam("s_client_id"),
        _PLATFORMS.c.jwks_url == bindparam("s_jwks_url"),
        _DEPLOYMENTS.c.id == bindparam("s_deployment_pk"),
        _DEPLOYMENTS.c.platform_id == _PLATFORMS.c.id,
        _DEPLOYMENTS.c.deployment_id == bindparam("s_deployment_id"),
    )
    nonce_used = exists().where(_NONCES.c.platform_id == platform_id, _NONCES.c.nonce == bindparam("s_nonce"))
    return (
        update(_STATES)
        .where(
            _STATES.c.state == bindparam("s_state"),
            _STATES.c.used_at.is_(None),
            _STATES.c.platform_id == platform_id,
            _STATES.c.nonce == bindparam("s_nonce"),
            _STATES.c.expires_at >= bindparam("now"),
            or_(_STATES.c.deployment_id.is_(None), _STATES.c.deployment_id == bindparam("s_deployment_id")),
            _STATES.c.target_link_uri == bindparam("s_target_link_uri"),
            still_registered,
            ~nonce_used,
        )
        .values(used_at=bindparam("now"))
        .returning(_STATES.c.id)
        .cte("consumed")
    )


# Built once (statement construction costs more than execution at launch rates).
_CONSUMED = _consume_state()
# By (placed, with the learner's standing).
_ACCEPT = {
    (placed, standing): launch_writes_pg(_CONSUMED, placed=placed, with_standing=standing)
    for placed in (False, True)
    for standing in (False, True)
}


def accept_in_one_statement(
    db: Database,
    registrations: RegistrationCache,
    keys: PlatformKeyCache,
    id_token: str,
    state: str,
    state_cookie: str | None,
    now: datetime,
    *,
    admins_are_designers: bool,
) -> tuple[VerifiedLaunch, LaunchRecord] | None:
    """The accepted launch and its record, or None (nothing written): see the module's docstring."""
    if db.dialect != "postgresql" or not state or state_cookie != state:
        return None
    try:
        token = read_token(id_token, state)
        claimed = token.claimed_deployment
        if not isinstance(claimed, str):
            return None
        platform = registration_for(token, registrations.lookup(token.issuer, claimed))
        key = keys.cached(platform.id, platform.jwks_url, token.kid)
        if key is None:
            return None
        verified = verified_claims(token, key, now)
        deployment_id = registered_deployment(verified, token, platform.deployment_pk)
        message_type = message_type_of(verified)
        roles = course_roles(verified, message_type, admins_are_designers=admins_are_designers)
    except LtiRefused:
        return None
    nonce, target = verified.get("nonce"), verified.get(c.TARGET_LINK_URI)
    if not isinstance(nonce, str) or not isinstance(target, str) or platform.deployment_pk is None:
        return None
    launch = VerifiedLaunch(
        platform_id=platform.id,
        issuer=token.issuer,
        client_id=platform.client_id,
        deployment_id=deployment_id,
        deployment_pk=platform.deployment_pk,
        nonce=nonce,
        nonce_expires_at=nonce_expiry(verified, now),
        message_type=message_type,
        roles=roles,
        claims=verified,
    )
    facts = facts_of(launch)
    if reads_editors_list(frozenset(facts.roles)):
        return None
    params = {
        **launch_write_params(facts, now),
        "s_state": state,
        "s_platform_id": platform.id,
        "s_client_id": platform.client_id,
        "s_jwks_url": platform.jwks_url,
        "s_deployment_pk": platform.deployment_pk,
        "s_deployment_id": deployment_id,
        "s_nonce": nonce,
        "s_target_link_uri": target,
    }
    # A learner's resource-link launch lands on their progress page: the statement reads their standing
    # too, after its writes (one round trip where the page would make a second).
    standing = message_type == c.RESOURCE_LINK_REQUEST and landing_role(roles) == LEARNER
    with db.one_write_statement() as conn:
        rows = conn.execute(_ACCEPT[(facts.placement is not None, standing)], params).all()
    if not rows:
        registrations.forget(token.issuer)
        return None
    return launch, launch_record_of(rows, facts, with_standing=standing)
