"""OIDC third-party initiated login: check the platform's request, keep state and nonce server-side, and
build the authentication request the browser is sent to (directly, or through the postMessage storage page).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import (
    Boolean,
    Connection,
    Executable,
    String,
    and_,
    any_,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql

from ..db import Database
from ..db.base import utcnow
from ..db.lti_models import DeepLinkResponse, OidcState, UsedNonce
from ..url_policy import UnsafeUrl, check_platform_url
from .errors import LtiRefused
from .registrations import REGISTRATIONS_OF_CLIENT, REGISTRATIONS_OF_ISSUER

STATE_LIFETIME = timedelta(minutes=10)
STATE_COOKIE_PREFIX = "lti1p3-state-"
PURGE_PROBABILITY = 0.01
MAX_HINT_LENGTH = 4096


# Built once: building statements per request cost more than running them.
_INSERT_STATE = insert(OidcState.__table__)
_STATE_COLUMNS = (
    "state",
    "nonce",
    "deployment_id",
    "target_link_uri",
    "storage",
    "login_hint",
    "lti_message_hint",
    "created_at",
    "expires_at",
)
# Authorization endpoints this process has checked against the URL policy and found usable, by development
# mode (the check is a pure function of the URL and the mode). Bounded: registrations are few.
_APPROVED: dict[bool, set[str]] = {True: set(), False: set()}
_APPROVED_MAX = 1000


def _check_and_store(query: Executable) -> Executable:
    """PostgreSQL: the registrations query and the state's insert as ONE statement (one round trip, where
    two were). The insert happens only when every check the login makes would pass: exactly one
    registration, the named deployment known, and an authorization endpoint that already passed the URL
    policy in this process (b_approved). Else nothing is written and the caller checks the returned
    candidates as before, storing the state itself after the checks (the first login to a registration in
    a process: its endpoint is checked, then approved). Columns: the query's, then ``stored`` (0 or 1)."""
    table: Any = OidcState.__table__
    candidates = query.cte("c")  # type: ignore[attr-defined]
    # s_-prefixed: b_deployment_id is the registrations query's own parameter.
    params = [bindparam("s_" + name, type_=table.c[name].type) for name in _STATE_COLUMNS]
    # Every check the login makes, in SQL, with the URL policy's verdict cached per endpoint.
    allowed = and_(
        select(func.count()).select_from(candidates).scalar_subquery() == 1,
        candidates.c.auth_login_url == any_(bindparam("b_approved", type_=postgresql.ARRAY(String))),
        or_(
            bindparam("b_needs_deployment", type_=Boolean) == false(),
            candidates.c.deployment_pk.is_not(None),
        ),
    )
    stored = (
        postgresql.insert(table)
        .from_select(
            ["platform_id", *_STATE_COLUMNS],
            select(candidates.c.id, *params).where(allowed),
        )
        .returning(table.c.id)
        .cte("stored")
    )
    return select(*candidates.c, select(func.count()).select_from(stored).scalar_subquery().label("stored"))


_CHECK_AND_STORE = {
    REGISTRATIONS_OF_CLIENT: _check_and_store(REGISTRATIONS_OF_CLIENT),
    REGISTRATIONS_OF_ISSUER: _check_and_store(REGISTRATIONS_OF_ISSUER),
}


@dataclass(frozen=True)
class LoginResult:
    auth_url: str
    state: str
    nonce: str
    storage_target: str | None
    platform_origin: str


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def start_login(
    db: Database, base_url: str, params: Mapping[str, str], *, development: bool = False
) -> LoginResult:
    """Validate a login initiation (GET query or POST form) and record its state and nonce.

    The browser is sent to the registration's authorization endpoint, which must pass the URL policy
    (a registration stored before the policy, or edited by hand, is refused here when used)."""
    issuer = (params.get("iss") or "").strip()
    login_hint = params.get("login_hint") or ""
    target_link_uri = params.get("target_link_uri") or ""
    client_id = params.get("client_id") or None
    deployment_id = params.get("lti_deployment_id") or None
    storage_target = params.get("lti_storage_target") or None
    if not issuer:
        raise LtiRefused("iss", "lti_login_missing_iss", "The login request names no platform (iss).")
    if not login_hint:
        raise LtiRefused("login_hint", "lti_login_missing_hint", "The login request has no login_hint.")
    if len(login_hint) > MAX_HINT_LENGTH or len(params.get("lti_message_hint") or "") > MAX_HINT_LENGTH:
        raise LtiRefused("login_hint", "lti_login_hint_too_long", "The login request's hints are too long.")
    if origin(target_link_uri) != origin(base_url) or not target_link_uri.startswith(base_url + "/"):
        raise LtiRefused(
            "target_link_uri",
            "lti_target_link_uri",
            "The login asks to open a page that is not part of this tool (target_link_uri).",
        )
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    # A state lost to a database crash only means the user opens the tool again: no need to wait for
    # the WAL flush. (The launch that consumes it commits durably.)
    # The platform check and the state's insert need no transaction around them (the launch re-checks the
    # platform); on PostgreSQL they are one autocommitted statement once the registration's endpoint has
    # passed the URL policy in this process (``_check_and_store``), else two.
    state_row = {
        "state": state,
        "nonce": nonce,
        "deployment_id": deployment_id,
        "target_link_uri": target_link_uri,
        "storage": "platform" if storage_target else "cookie",
        "login_hint": login_hint,
        "lti_message_hint": params.get("lti_message_hint") or None,
        "created_at": now,
        "expires_at": now + STATE_LIFETIME,
    }
    with db.disposable_writes() as conn:
        # One statement: the registration(s) for this issuer, each with the named deployment if it has it.
        query = REGISTRATIONS_OF_CLIENT if client_id else REGISTRATIONS_OF_ISSUER
        keys = {"b_issuer": issuer, "b_client_id": client_id, "b_deployment_id": deployment_id or ""}
        stored = False
        if conn.dialect.name == "postgresql":
            rows = conn.execute(
                _CHECK_AND_STORE[query],
                {
                    **keys,
                    **{"s_" + name: value for name, value in state_row.items()},
                    "b_approved": sorted(_APPROVED[development]),
                    "b_needs_deployment": deployment_id is not None,
                },
            ).all()
            candidates = [row[:-1] for row in rows]
            stored = any(row.stored for row in rows)
        else:
            candidates = list(conn.execute(query, keys).all())
        if len(candidates) != 1:
            raise LtiRefused(
                "iss",
                "lti_unknown_platform",
                f"This tool is not registered with the platform {issuer}"
                + (f" (client id {client_id})." if client_id else "."),
            )
        platform_id, platform_client_id, auth_login_url, _jwks_url, known_deployment = candidates[0]
        try:
            if not stored:  # stored: the endpoint was in the approved set, checked by this process
                check_platform_url(auth_login_url, "authorization endpoint", development=development)
        except UnsafeUrl as exc:
            raise LtiRefused(
                "registration",
                "lti_platform_url",
                f"The registration of {issuer} is not usable: {exc} Ask the tool's operator to correct it.",
                403,
            ) from None
        if deployment_id is not None and known_deployment is None:
            raise LtiRefused(
                "deployment_id",
                "lti_unknown_deployment",
                f"Deployment {deployment_id} of {issuer} is not registered with this tool.",
            )
        if not stored:
            conn.execute(_INSERT_STATE, {**state_row, "platform_id": platform_id})
            approved = _APPROVED[development]
            if len(approved) >= _APPROVED_MAX:
                approved.clear()
            approved.add(auth_login_url)
        if random.random() < PURGE_PROBABILITY:
            _purge(conn)
    dynamic = {"login_hint": login_hint, "state": state, "nonce": nonce}
    if params.get("lti_message_hint"):
        dynamic["lti_message_hint"] = params["lti_message_hint"]
    auth_url = _auth_request_start(auth_login_url, platform_client_id, base_url) + urlencode(dynamic)
    platform_origin = origin(auth_login_url)
    return LoginResult(auth_url, state, nonce, storage_target, platform_origin)


@lru_cache(maxsize=256)
def _auth_request_start(auth_login_url: str, client_id: str, base_url: str) -> str:
    """The authentication request's URL up to its per-login parameters: the endpoint and the parameters
    that are the same for every login to this registration, encoded once."""
    fixed = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": client_id,
        "redirect_uri": base_url + "/lti/launch",
    }
    separator = "&" if "?" in auth_login_url else "?"
    return auth_login_url + separator + urlencode(fixed) + "&"


def _purge(conn: Connection) -> None:
    """Drop states, nonces and deep-link answers long past their lifetime (a replay of those is refused
    by exp or the signed tokens' max age anyway)."""
    cutoff = utcnow() - timedelta(days=1)
    conn.execute(delete(OidcState).where(OidcState.expires_at < cutoff))
    conn.execute(delete(UsedNonce).where(UsedNonce.expires_at < cutoff))
    conn.execute(delete(DeepLinkResponse).where(DeepLinkResponse.expires_at < cutoff))


def storage_page_data(result: LoginResult) -> dict[str, str | None]:
    """What the storage page's script reads (lti_tool/web/static/lti-storage.js)."""
    return {
        "target": result.storage_target,
        "origin": result.platform_origin,
        "state": result.state,
        "nonce": result.nonce,
        "authUrl": result.auth_url,
    }
