"""Security headers on every response: a Content-Security-Policy, nosniff, and a Referrer-Policy.

- No inline script anywhere (every page's script is a file under static/), so ``script-src 'self'``.
- ``frame-ancestors``: a page that shows a signed-in user's data or actions may be framed only by the
  tool itself, by that user's platform (its issuer's and authorisation endpoint's origins), by the page that
  launched it (the launch's ``return_url`` origin: Canvas frames tools on the school's host) and by the
  origins in FRAME_ANCESTORS. Pages without a signed-in user (login hand-off, launch checks, registration,
  errors) carry no actions a framing page could trick a user into, and must be framable by platforms not
  known yet (Dynamic Registration runs in the new platform's frame): they allow any ancestor.
- ``Referrer-Policy: same-origin``: the cookie-less session token in our URLs never reaches another site.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache

from flask import Flask, Response, current_app, g
from sqlalchemy import select

from ..db.models import Platform
from ..lti.login import origin
from .auth import Actor
from .context import db, settings

_BASE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "object-src 'none'; base-uri 'none'"
)
ORIGINS_TTL_SECONDS = 30.0


class _PlatformOrigins:
    """Each platform's origins, cached for ORIGINS_TTL_SECONDS (a response must not wait on a query)."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[float, tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def of(self, platform_id: int) -> tuple[str, ...]:
        now = time.monotonic()
        hit = self._cache.get(platform_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        with db().read() as session:
            row = session.execute(
                select(Platform.issuer, Platform.auth_login_url).where(
                    Platform.id == platform_id, Platform.active.is_(True)
                )
            ).first()
        origins = tuple(dict.fromkeys(origin(u) for u in row if u)) if row else ()
        with self._lock:
            self._cache[platform_id] = (now + ORIGINS_TTL_SECONDS, origins)
        return origins


def _safe_source(value: str) -> bool:
    """A CSP source expression we write ourselves: a scheme://host[:port] origin, nothing else."""
    return "://" in value and not any(ch in value for ch in " ;,'\"\r\n")


def frame_ancestors(actor: Actor | None) -> str:
    if actor is None:
        return "*"
    cache: _PlatformOrigins = current_app.extensions["platform_origins"]
    return _ancestors(cache.of(actor.platform_id), actor.frame_origin, settings().frame_ancestors)


@lru_cache(maxsize=1024)
def _ancestors(platform: tuple[str, ...], frame_origin: str | None, configured: tuple[str, ...]) -> str:
    """The frame-ancestors sources: a pure function of the platform's origins, the launch's framing
    origin and FRAME_ANCESTORS, which repeat for every page of a course: each answer is kept."""
    sources = ["'self'", *platform]
    if frame_origin:
        sources.append(frame_origin)
    sources.extend(configured)
    return " ".join(dict.fromkeys(s for s in sources if s == "'self'" or _safe_source(s)))


def init_app(app: Flask) -> None:
    app.extensions["platform_origins"] = _PlatformOrigins()
    # The policies that do not depend on who is signed in, written once.
    any_ancestor = f"{_BASE_POLICY}; frame-ancestors *"
    self_ancestor = f"{_BASE_POLICY}; frame-ancestors 'self'"

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        present = {key.lower() for key, _ in headers}
        if "x-content-type-options" not in present:
            headers.add("X-Content-Type-Options", "nosniff")
        if "referrer-policy" not in present:
            headers.add("Referrer-Policy", "same-origin")
        if "content-security-policy" not in present:
            # Files and JSON: only the tool's own pages embed them. A page that shows a user's data or
            # actions looked the user up while it was built (g.actor); one that never did (login hand-off,
            # launch checks, errors) shows nobody's.
            if response.mimetype != "text/html":
                policy = self_ancestor
            else:
                actor = g.get("actor")
                policy = (
                    any_ancestor
                    if actor is None
                    else f"{_BASE_POLICY}; frame-ancestors {frame_ancestors(actor)}"
                )
            headers.add("Content-Security-Policy", policy)
        return response
