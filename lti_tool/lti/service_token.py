"""Access tokens for the platform's LTI Advantage services (AGS, NRPS), shared by every worker.

The tool asks the platform's token endpoint for a client_credentials grant, authenticated by a
private_key_jwt assertion signed with the tool's active key (1EdTech Security Framework 4.1). pylti1p3
caches that token with no expiry check; ours lives in the ``access_tokens`` table, keyed by platform and
scope set, and is reused only until ``expires_in`` minus a safety margin.

``service_request`` is the one way the adapter talks to a platform service: it attaches the token, asks
again once on a 401 (the platform may have revoked it), and turns 429/503 + Retry-After into ``RetryLater``
so the outbox waits as long as the platform asked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import jwt
import requests
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..db.base import utcnow
from ..db.lti_service_models import AccessToken
from ..db.models import Platform
from ..services.outbox import RetryLater
from ..url_policy import UnsafeUrl, check_platform_url
from .keys import active_signing_key

log = logging.getLogger("lti_tool.lti.services")

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300
# A token is not used in its last minute (or last tenth of a short life): a request signed with it must
# still be valid when the platform reads it.
EXPIRY_MARGIN = 60
HTTP_TIMEOUT = (5, 20)


class ServiceError(Exception):
    """The platform refused a service call in a way a retry will not fix by itself."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def scope_key(scopes: Iterable[str]) -> str:
    return hashlib.sha256(" ".join(sorted(set(scopes))).encode()).hexdigest()


def client_assertion(client_id: str, audience: str, kid: str, private_key_pem: str) -> str:
    """The private_key_jwt proving the tool's identity at the token endpoint (iss = sub = client_id)."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_key_pem, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def retry_after_seconds(value: str | None, default: float = 30.0) -> float:
    """Retry-After as delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 1.0)


def raise_for_throttling(response: requests.Response, what: str) -> None:
    if response.status_code in (429, 503):
        seconds = retry_after_seconds(response.headers.get("Retry-After"))
        raise RetryLater(seconds, f"{what}: HTTP {response.status_code}, retry after {seconds:.0f}s")


def parse_json_body(response: requests.Response) -> Any:
    """JSON whatever the Content-Type says: Moodle's token endpoint labels its JSON text/html."""
    try:
        return json.loads(response.content.decode(response.encoding or "utf-8") or "null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError(
            f"{response.url} answered HTTP {response.status_code} with a body that is not JSON",
            response.status_code,
        ) from exc


def _cached(db: Database, platform_id: int, key: str) -> str | None:
    with db.read() as session:
        row = session.scalar(
            select(AccessToken).where(AccessToken.platform_id == platform_id, AccessToken.scope_key == key)
        )
        if row is not None and row.expires_at > utcnow():
            return row.access_token
    return None


def _store(db: Database, platform_id: int, key: str, scopes: str, token: str, expires_at: datetime) -> None:
    try:
        with db.transaction() as session:
            session.execute(
                delete(AccessToken).where(
                    AccessToken.platform_id == platform_id, AccessToken.scope_key == key
                )
            )
            session.add(
                AccessToken(
                    platform_id=platform_id,
                    scope_key=key,
                    scopes=scopes,
                    access_token=token,
                    expires_at=expires_at,
                )
            )
    except IntegrityError:
        # Another worker stored a fresh token for the same scopes at the same moment: theirs is as good.
        pass


def invalidate(db: Database, platform_id: int, scopes: Iterable[str]) -> None:
    with db.transaction() as session:
        session.execute(
            delete(AccessToken).where(
                AccessToken.platform_id == platform_id, AccessToken.scope_key == scope_key(scopes)
            )
        )


def _development() -> bool:
    """Development mode (http:// platforms allowed) as the running app is configured; off outside an app."""
    try:
        return bool(current_app.extensions["settings"].development)
    except (RuntimeError, KeyError):
        return False


def request_token(db: Database, platform: Platform, scopes: list[str]) -> tuple[str, int]:
    """One client_credentials grant at the platform's token endpoint: (access_token, expires_in)."""
    try:
        check_platform_url(platform.auth_token_url, "token endpoint", development=_development())
    except UnsafeUrl as exc:
        raise ServiceError(f"platform {platform.id}: {exc}") from exc
    kid, private_key_pem = active_signing_key(db)
    audience = platform.auth_token_audience or platform.auth_token_url
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion(platform.client_id, audience, kid, private_key_pem),
        "scope": " ".join(scopes),
    }
    response = requests.post(
        platform.auth_token_url,
        data=form,
        headers={"Accept": "application/json"},
        timeout=HTTP_TIMEOUT,
        allow_redirects=False,
    )
    raise_for_throttling(response, "token endpoint")
    body = parse_json_body(response)
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        error = body.get("error") if isinstance(body, dict) else None
        raise ServiceError(
            f"token endpoint {platform.auth_token_url} refused the grant: HTTP {response.status_code}"
            + (f" ({error})" if error else ""),
            response.status_code,
        )
    try:
        expires_in = int(body.get("expires_in") or 3600)
    except (TypeError, ValueError):
        expires_in = 3600
    log.info("event=service_token_issued platform_id=%s expires_in=%s", platform.id, expires_in)
    return str(body["access_token"]), expires_in


def access_token(db: Database, platform_id: int, scopes: Iterable[str]) -> str:
    """A valid access token for these scopes: the shared cached one, or a new grant."""
    wanted = sorted(set(scopes))
    key = scope_key(wanted)
    cached = _cached(db, platform_id, key)
    if cached is not None:
        return cached
    with db.read() as session:
        platform = session.get(Platform, platform_id)
        if platform is None:
            raise ServiceError(f"platform {platform_id} is not registered")
        session.expunge(platform)
    token, expires_in = request_token(db, platform, wanted)
    margin = min(EXPIRY_MARGIN, expires_in // 10)
    _store(db, platform_id, key, " ".join(wanted), token, utcnow() + timedelta(seconds=expires_in - margin))
    return token


def service_request(
    db: Database,
    platform_id: int,
    scopes: Iterable[str],
    method: str,
    url: str,
    *,
    accept: str | None = None,
    content_type: str | None = None,
    body: Any = None,
) -> requests.Response:
    """Call a platform service with a bearer token. 429/503 raise RetryLater; a 401 retries once."""
    scope_list = sorted(set(scopes))
    data = None if body is None else json.dumps(body).encode()
    for attempt in (1, 2):
        headers = {"Authorization": f"Bearer {access_token(db, platform_id, scope_list)}"}
        if accept:
            headers["Accept"] = accept
        if content_type:
            headers["Content-Type"] = content_type
        response = requests.request(method, url, headers=headers, data=data, timeout=HTTP_TIMEOUT)
        raise_for_throttling(response, f"{method} {url}")
        if response.status_code == 401 and attempt == 1:
            log.info("event=service_token_rejected platform_id=%s url=%s", platform_id, url)
            invalidate(db, platform_id, scope_list)
            continue
        return response
    return response
