"""Who is using the tool right now: the actor a verified LTI launch signed in.

The actor is scoped to one platform, deployment, course (context) and user: every view reads data
through it, so nothing crosses courses. It lives in the Flask session (a SameSite=None; Secure cookie
in production) and, for LMS iframes whose browser blocks third-party cookies, in a short-lived signed
token carried in the URL (``lt``) that ``url()`` adds to every link and form action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, request, session, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

LEARNER = "learner"
ASSESSOR = "assessor"
DESIGNER = "designer"
TOKEN_PARAM = "lt"
TOKEN_MAX_AGE = 8 * 3600

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Actor:
    user_id: int
    platform_id: int
    deployment_id: int
    context_id: int
    name: str
    roles: frozenset[str]
    course_key: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["roles"] = sorted(self.roles)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        return cls(
            user_id=int(data["user_id"]),
            platform_id=int(data["platform_id"]),
            deployment_id=int(data["deployment_id"]),
            context_id=int(data["context_id"]),
            name=str(data.get("name", "")),
            roles=frozenset(data.get("roles", ())),
            course_key=data.get("course_key"),
        )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="lti-tool-actor")


def sign_in(actor: Actor) -> str:
    """Start a session for a verified launch; returns the URL token for cookie-less iframes."""
    session.clear()
    session["actor"] = actor.to_dict()
    token = _serializer().dumps(actor.to_dict())
    g.actor = actor
    g.actor_token = token
    return token


def _from_token(token: str) -> Actor | None:
    try:
        return Actor.from_dict(_serializer().loads(token, max_age=TOKEN_MAX_AGE))
    except (SignatureExpired, BadSignature, KeyError, ValueError, TypeError):
        return None


def current_actor_or_none() -> Actor | None:
    if "actor" in g:
        return cast(Actor | None, g.actor)
    actor: Actor | None = None
    token = request.args.get(TOKEN_PARAM) or request.form.get(TOKEN_PARAM)
    if token:
        actor = _from_token(token)
        if actor is not None:
            g.actor_token = token
    if actor is None and "actor" in session:
        try:
            actor = Actor.from_dict(session["actor"])
        except (KeyError, ValueError, TypeError):
            actor = None
    g.actor = actor
    return actor


def current_actor() -> Actor:
    actor = current_actor_or_none()
    if actor is None:
        abort(401, "Open this tool from your course: your session has ended or the launch was not completed.")
    return actor


def require_role(*roles: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if not actor.has(*roles):
                abort(403, f"This page is for {' or '.join(roles)}s in this course.")
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def url(endpoint: str, **values: Any) -> str:
    """url_for that keeps the cookie-less session token when the request came with one."""
    token = g.get("actor_token") if request.args.get(TOKEN_PARAM) or request.form.get(TOKEN_PARAM) else None
    if token is None and g.get("actor_token") and "actor" not in session:
        token = g.get("actor_token")
    if token:
        values[TOKEN_PARAM] = token
    return url_for(endpoint, **values)


def token_field() -> str:
    """Hidden input carrying the session token in forms (empty when cookies work)."""
    token = g.get("actor_token")
    if not token or ("actor" in session and not request.args.get(TOKEN_PARAM)):
        return ""
    return f'<input type="hidden" name="{TOKEN_PARAM}" value="{token}">'
