"""The launch (OIDC redirect_uri): every check of the 1EdTech security framework, each refused with its name.

``verify_launch`` runs inside the launch's one write transaction (``lti.accept.accept_launch``):
it reads the platform and deployment, checks the signature and every claim, and consumes the state
(``UPDATE ... WHERE used_at IS NULL RETURNING``; on PostgreSQL in the statement that reads the platform);
``record_launch`` then inserts the nonce and upserts the user, context and membership in the same
transaction. A refused launch raises and the transaction rolls back, so it writes nothing; a replay loses
on the state's ``used_at`` guard or the nonces' unique key.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from jwt import PyJWK
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_decode
from pylti1p3.exception import LtiException
from pylti1p3.message_validators import DeepLinkMessageValidator, ResourceMessageValidator
from sqlalchemy import bindparam, literal, select, true, update
from sqlalchemy.orm import Session

from ..db.lti_models import OidcState, UsedNonce
from . import claims as c
from .errors import LtiRefused
from .registrations import REGISTRATIONS_OF_ISSUER
from .roles import map_roles

LEEWAY = timedelta(seconds=30)
NONCE_RETENTION = timedelta(hours=2)
_VALIDATORS = {
    c.RESOURCE_LINK_REQUEST: ResourceMessageValidator(),
    c.DEEP_LINKING_REQUEST: DeepLinkMessageValidator(),
}

# (platform_id, jwks_url, kid) -> the platform's key, without I/O; raises KeyNotCached when a fetch is needed.
KeyLookup = Callable[[int, str, str], PyJWK]


@dataclass(frozen=True)
class LoginAgain:
    """What a new login for the same launch needs (the platform's login initiation, as it sent it)."""

    issuer: str
    client_id: str
    deployment_id: str | None
    target_link_uri: str
    login_hint: str
    lti_message_hint: str | None


class StateNotConfirmed(Exception):
    """A launch that verified, but whose state cookie did not come back (the browser blocks third-party
    cookies). The server-side state alone does not show that this browser started the login (login CSRF),
    so it is not accepted: with ``storage == "platform"`` the state must first be read back from the
    platform's postMessage storage in this browser; otherwise the tool offers the login again in a new
    window, where its cookie works. Raised inside the launch transaction, so the state stays unused."""

    def __init__(self, storage: str, platform_origin: str, login: LoginAgain) -> None:
        super().__init__(f"state not confirmed (storage={storage})")
        self.storage, self.platform_origin, self.login = storage, platform_origin, login


class KeyNotCached(Exception):
    """The signing key is not in process memory: fetch it outside the transaction, then retry."""

    def __init__(self, platform_id: int, jwks_url: str, kid: str) -> None:
        super().__init__(f"platform {platform_id} key {kid!r} not cached")
        self.platform_id, self.jwks_url, self.kid = platform_id, jwks_url, kid


@dataclass(frozen=True)
class VerifiedLaunch:
    platform_id: int
    issuer: str
    client_id: str
    deployment_id: str
    deployment_pk: int
    nonce: str
    nonce_expires_at: datetime
    message_type: str
    roles: frozenset[str]
    claims: dict[str, Any]

    @property
    def lti_roles(self) -> list[str]:
        return [r for r in self.claims.get(c.ROLES, []) if isinstance(r, str)]

    @property
    def context(self) -> dict[str, Any]:
        value = self.claims.get(c.CONTEXT)
        return value if isinstance(value, dict) else {}

    @property
    def custom(self) -> dict[str, str]:
        """Custom parameters, keys lower-cased (Moodle sends mixed-case keys twice); unresolved
        substitution variables (``$Canvas.user.id`` left as is) are dropped."""
        raw = self.claims.get(c.CUSTOM)
        if not isinstance(raw, dict):
            return {}
        result: dict[str, str] = {}
        for key, value in raw.items():
            if isinstance(value, str | int | float) and not (
                isinstance(value, str) and value.startswith("$")
            ):
                result.setdefault(str(key).lower(), str(value))
        return result

    @property
    def deep_linking_settings(self) -> dict[str, Any]:
        value = self.claims.get(c.DEEP_LINKING_SETTINGS)
        return value if isinstance(value, dict) else {}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _refuse(check: str, code: str, message: str) -> LtiRefused:
    return LtiRefused(check, code, message)


def _timestamp(claims: dict[str, Any], name: str) -> datetime:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _refuse(name, f"lti_{name}", f"The launch token has no valid {name} time.")
    return datetime.fromtimestamp(value, UTC)


_RS256 = RSAAlgorithm(RSAAlgorithm.SHA256)


@dataclass(frozen=True)
class _Jws:
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _parse_jws(token: str) -> _Jws:
    """Split a compact JWS into its JSON header and payload, the signed bytes and the signature.
    Nothing here is trusted until the signature over ``signing_input`` verifies."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise ValueError("a compact JWS has three parts")  # (an empty signature is refused by the alg check)
    try:
        header = json.loads(base64url_decode(parts[0]))
        payload = json.loads(base64url_decode(parts[1]))
        signature = base64url_decode(parts[2])
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("unreadable JWS segment") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise ValueError("JWS header and payload must be JSON objects")
    return _Jws(header, payload, f"{parts[0]}.{parts[1]}".encode(), signature)


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        return list(aud)
    return []


_STATES = OidcState.__table__
_STATE_COLUMNS = (
    _STATES.c.id,
    _STATES.c.nonce,
    _STATES.c.platform_id,
    _STATES.c.deployment_id,
    _STATES.c.target_link_uri,
    _STATES.c.expires_at,
    _STATES.c.storage,
    _STATES.c.login_hint,
    _STATES.c.lti_message_hint,
)


# Built once (statement construction costs more than execution at launch rates).
_CONSUME_STATE = (
    update(_STATES)
    .where(_STATES.c.state == bindparam("b_state"), _STATES.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
    .returning(*_STATE_COLUMNS)
)


# PostgreSQL: the issuer's registrations and the state's consumption in one statement, one round trip
# instead of two. The state is then marked used before the signature is checked, which is safe: every
# refusal (and a key fetch, KeyNotCached) rolls the launch's transaction back, so the state is only spent
# by a launch that is accepted; a concurrent launch with the same state still waits on the row and finds
# it used. Every registration row carries the state's columns (NULL when no unused state matched); the
# outer join on a one-row select keeps the state's row when the issuer has no registration.
_CONSUMED = _CONSUME_STATE.cte("consumed")
_REGISTRATIONS = REGISTRATIONS_OF_ISSUER.subquery("registrations")
_REGISTRATIONS_CONSUMING_STATE = select(
    *_REGISTRATIONS.c, *(column.label("state_" + column.name) for column in _CONSUMED.c)
).select_from(
    select(literal(1).label("one"))
    .subquery("one")
    .outerjoin(_REGISTRATIONS, true())
    .outerjoin(_CONSUMED, true())
)
_STATE_NAMES = tuple(column.name for column in _STATE_COLUMNS)


class Registration(NamedTuple):
    id: int
    client_id: str
    auth_login_url: str
    jwks_url: str
    deployment_pk: int | None


class _State(NamedTuple):
    id: int
    nonce: str
    platform_id: int
    deployment_id: str | None
    target_link_uri: str
    expires_at: datetime
    storage: str
    login_hint: str | None
    lti_message_hint: str | None


def _registrations(
    session: Session, issuer: str, deployment_id: str, state: str, now: datetime
) -> tuple[list[Registration], _State | None, bool]:
    """The issuer's active registrations (each with the claimed deployment's key if it has it), and on
    PostgreSQL the state, consumed in the same statement: (registrations, state row, tried). ``tried`` is
    False on SQLite, where the caller consumes the state itself once the signature verified."""
    conn = session.connection()
    params = {"b_issuer": issuer, "b_deployment_id": deployment_id}
    if conn.dialect.name != "postgresql":
        return [Registration(*row) for row in conn.execute(REGISTRATIONS_OF_ISSUER, params)], None, False
    rows = conn.execute(_REGISTRATIONS_CONSUMING_STATE, {**params, "b_state": state, "now": now}).all()
    registrations = [Registration(*row[:5]) for row in rows if row[0] is not None]
    consumed = rows[0][5:] if rows else None
    return registrations, (_State(*consumed) if consumed and consumed[0] is not None else None), True


def _consume_state(session: Session, state: str, now: datetime) -> tuple[Any, bool]:
    """Mark the login's state used (single use) and return its row and whether it was used before."""
    row = session.connection().execute(_CONSUME_STATE, {"b_state": state, "now": now}).first()
    if row is not None:
        return row, False
    return _state_row(session, state), True


def _state_row(session: Session, state: str) -> Any:
    # Unknown or already consumed: only a refused launch takes this path, to name the right check.
    return session.connection().execute(select(*_STATE_COLUMNS).where(_STATES.c.state == state)).first()


def _nonce_used(session: Session, platform_id: int, nonce: str) -> bool:
    nonces = UsedNonce.__table__
    found = session.connection().execute(
        select(nonces.c.id).where(nonces.c.platform_id == platform_id, nonces.c.nonce == nonce)
    )
    return found.first() is not None


@dataclass(frozen=True)
class LaunchToken:
    """An id_token read but not trusted yet: its parts, and what picks the registration to check it with."""

    jws: _Jws
    kid: str
    issuer: str
    audiences: list[str]
    azp: Any
    claimed_deployment: Any


def read_token(id_token: str, state: str) -> LaunchToken:
    """The checks that need nothing but the request: a readable RS256 JWS naming its key and issuer."""
    if not id_token:
        raise _refuse("id_token", "lti_missing_id_token", "The launch carries no id_token.")
    if not state:
        raise _refuse("state", "lti_state", "The launch carries no state.")
    try:
        token = _parse_jws(id_token)
    except ValueError as exc:
        raise _refuse("signature", "lti_malformed_token", "The launch token is not a readable JWT.") from exc
    header, unverified = token.header, token.payload
    if header.get("alg") != "RS256":
        raise _refuse(
            "alg", "lti_alg", f"Launch tokens must be signed with RS256, not {header.get('alg')!r}."
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _refuse("signature", "lti_missing_kid", "The launch token names no signing key (kid).")
    issuer = unverified.get("iss")
    if not isinstance(issuer, str):
        raise _refuse("iss", "lti_iss", f"This tool is not registered with the platform {issuer!r}.")
    return LaunchToken(
        token, kid, issuer, _audiences(unverified), unverified.get("azp"), unverified.get(c.DEPLOYMENT_ID)
    )


def registration_for(token: LaunchToken, platforms: list[Registration]) -> Registration:
    """The registration the token is addressed to, among the issuer's: aud must contain our client id;
    with several audiences, azp must name us (OIDC Core 3.1.3.7)."""
    if not platforms:
        raise _refuse("iss", "lti_iss", f"This tool is not registered with the platform {token.issuer!r}.")
    audiences, azp = token.audiences, token.azp
    if len(audiences) > 1 and (not isinstance(azp, str) or azp not in audiences):
        raise _refuse("azp", "lti_azp", "The token has several audiences and no azp naming this tool.")
    if azp is not None and (not isinstance(azp, str) or azp not in audiences):
        raise _refuse("azp", "lti_azp", "The token's azp is not one of its audiences.")
    wanted = azp if isinstance(azp, str) else (audiences[0] if audiences else None)
    platform = next((p for p in platforms if p.client_id == wanted), None)
    if platform is None:
        raise _refuse("aud", "lti_aud", "The launch token is not addressed to this tool's client id (aud).")
    return platform


def verified_claims(token: LaunchToken, key: PyJWK, now: datetime) -> dict[str, Any]:
    """The token's claims once its signature verifies and it is within its times."""
    # The token was parsed once; here its signature is checked over the exact bytes received, with PyJWT's
    # RS256 implementation (the same check jwt.decode makes, without parsing the token again).
    jws = token.jws
    if not _RS256.verify(jws.signing_input, key.key, jws.signature):
        raise _refuse("signature", "lti_signature", "The launch token's signature does not verify.")
    verified = jws.payload
    if _timestamp(verified, "exp") + LEEWAY < now:
        raise _refuse("exp", "lti_exp", "The launch token has expired; open the tool again from your course.")
    if _timestamp(verified, "iat") - LEEWAY > now:
        raise _refuse(
            "iat", "lti_iat", "The launch token was issued in the future (check the platform clock)."
        )
    return verified


def registered_deployment(verified: dict[str, Any], token: LaunchToken, deployment_pk: int | None) -> str:
    deployment_id = verified.get(c.DEPLOYMENT_ID)
    if (
        not isinstance(deployment_id, str)
        or deployment_id != token.claimed_deployment
        or deployment_pk is None
    ):
        raise _refuse("deployment_id", "lti_deployment", f"Deployment {deployment_id!r} is not registered.")
    return deployment_id


def message_type_of(verified: dict[str, Any]) -> str:
    message_type = verified.get(c.MESSAGE_TYPE)
    if message_type not in c.MESSAGE_TYPES:
        raise _refuse("message_type", "lti_message_type", f"Message type {message_type!r} is not supported.")
    if verified.get(c.VERSION) != "1.3.0":
        raise _refuse("version", "lti_version", "Only LTI version 1.3.0 launches are supported.")
    return str(message_type)


def course_roles(
    verified: dict[str, Any], message_type: str, *, admins_are_designers: bool
) -> frozenset[str]:
    """The tool's roles the launch gives, once the message has every claim its type needs and a course."""
    lti_roles = verified.get(c.ROLES)
    if not isinstance(lti_roles, list):
        raise _refuse("roles", "lti_roles", "The launch carries no roles claim.")
    roles = map_roles(lti_roles, admins_are_designers=admins_are_designers)
    if not roles:
        raise _refuse("roles", "lti_roles", "Your role in this course does not give access to this tool.")
    try:
        _VALIDATORS[message_type].validate(verified)
    except LtiException as exc:
        raise _refuse("claims", "lti_claims", f"The launch is incomplete: {exc}.") from exc
    if not isinstance(verified.get(c.CONTEXT), dict) or not verified[c.CONTEXT].get("id"):
        raise _refuse("claims", "lti_context", "Open this tool from a course: the launch names no context.")
    return roles


def nonce_expiry(verified: dict[str, Any], now: datetime) -> datetime:
    return max(_timestamp(verified, "exp"), now) + NONCE_RETENTION


def verify_launch(
    session: Session,
    key_lookup: KeyLookup,
    id_token: str,
    state: str,
    state_cookie: str | None = None,
    now: datetime | None = None,
    *,
    admins_are_designers: bool = False,
    storage_confirmed: bool = False,
) -> VerifiedLaunch:
    """Check the launch in the caller's write transaction and consume its state; raise LtiRefused.

    Without the state cookie the launch is accepted only when ``storage_confirmed`` (the state was read
    back from the platform's storage in this browser); else StateNotConfirmed, after every other check.

    Only course (context) roles give access; LMS administrators are designers when ``admins_are_designers``
    (the LMS_ADMINS_ARE_DESIGNERS setting). See ``roles.map_roles``.
    """
    token = read_token(id_token, state)
    now = now or datetime.now(UTC)
    claimed = token.claimed_deployment
    platforms, consumed, consume_tried = _registrations(
        session, token.issuer, claimed if isinstance(claimed, str) else "", state, now
    )
    platform = registration_for(token, platforms)
    platform_id, client_id, auth_login_url, jwks_url, deployment_pk = platform
    verified = verified_claims(token, key_lookup(platform_id, jwks_url, token.kid), now)

    if not consume_tried:
        stored, used_before = _consume_state(session, state, now)
    elif consumed is not None:
        stored, used_before = consumed, False
    else:
        stored, used_before = _state_row(session, state), True
    if stored is None or stored.platform_id != platform_id:
        raise _refuse("state", "lti_state", "This launch does not match a login started here (state).")
    if state_cookie is not None and state_cookie != state:
        raise _refuse("state", "lti_state", "This launch was started in another browser (state cookie).")
    if stored.expires_at < now:
        raise _refuse("state", "lti_state_expired", "The login took too long; open the tool again.")
    nonce = verified.get("nonce")
    if used_before:
        raise _refuse("nonce", "lti_replay", "This launch was already used; a launch can be used once.")
    if not isinstance(nonce, str) or nonce != stored.nonce:
        if isinstance(nonce, str) and _nonce_used(session, platform_id, nonce):
            # A captured token replayed against a fresh login.
            raise _refuse("nonce", "lti_replay", "This launch was already used; a launch can be used once.")
        raise _refuse("nonce", "lti_nonce", "The launch token's nonce is not the one this login sent.")

    deployment_id = registered_deployment(verified, token, deployment_pk)
    assert deployment_pk is not None  # registered_deployment refuses a deployment without its row
    if stored.deployment_id is not None and stored.deployment_id != deployment_id:
        raise _refuse(
            "deployment_id", "lti_deployment", "The deployment differs from the one given at login."
        )
    message_type = message_type_of(verified)
    if verified.get(c.TARGET_LINK_URI) != stored.target_link_uri:
        raise _refuse(
            "target_link_uri",
            "lti_target_link_uri",
            "The target_link_uri differs from the one given at login.",
        )
    roles = course_roles(verified, message_type, admins_are_designers=admins_are_designers)
    if state_cookie is None and not (storage_confirmed and stored.storage == "platform"):
        raise StateNotConfirmed(
            stored.storage,
            _origin(auth_login_url),
            LoginAgain(
                issuer=token.issuer,
                client_id=client_id,
                deployment_id=stored.deployment_id,
                target_link_uri=stored.target_link_uri,
                login_hint=stored.login_hint or "",
                lti_message_hint=stored.lti_message_hint,
            ),
        )
    return VerifiedLaunch(
        platform_id=platform_id,
        issuer=token.issuer,
        client_id=client_id,
        deployment_id=deployment_id,
        deployment_pk=deployment_pk,
        nonce=nonce,
        nonce_expires_at=nonce_expiry(verified, now),
        message_type=message_type,
        roles=roles,
        claims=verified,
    )
