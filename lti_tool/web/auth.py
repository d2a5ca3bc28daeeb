"""Who is using the tool right now: the actor a verified LTI launch signed in.

The actor is scoped to one platform, deployment, course (context) and user: every view reads data
through it, so nothing crosses courses. It lives in the Flask session (a SameSite=None; Secure cookie
in production) and, for LMS iframes whose browser blocks third-party cookies, in a short-lived signed
token carried in the URL (``lt``) that ``url()`` adds to every link and form action.

Both end SESSION_MAX_SECONDS after the launch, and as soon as the course no longer gives the user a role
the session holds (a newer launch or roster sync with fewer roles). The URL token also ends after
TOKEN_IDLE_SECONDS unused; every page re-signs it. It is kept out of access logs (cli/serve.py) and
Referer headers to other sites (Referrer-Policy: same-origin).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from flask import abort, current_app, g, request, session, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..services import memberships
from .context import db
from .errors import error_response

LEARNER = "learner"
ASSESSOR = "assessor"
DESIGNER = "designer"
TOKEN_PARAM = "lt"
# The URL token slides: each page re-signs it, and one unused for TOKEN_IDLE_SECONDS is refused.
TOKEN_IDLE_SECONDS = 3600
# However active, a session (cookie or token) ends this long after its launch: open the tool again.
SESSION_MAX_SECONDS = 8 * 3600

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
    # When the launch signed this actor in (epoch seconds), and the origin of the page that framed it
    # (the launch's launch_presentation.return_url), allowed to frame the tool's pages (CSP).
    signed_in_at: int = field(default_factory=lambda: int(time.time()))
    frame_origin: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def to_dict(self) -> dict[str, Any]:
        # Every field is a scalar but the roles (dataclasses.asdict would deep-copy each one).
        data = {name: getattr(self, name) for name in _ACTOR_FIELDS}
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
            signed_in_at=int(data.get("signed_in_at") or 0),
            frame_origin=data.get("frame_origin") or None,
        )


_ACTOR_FIELDS = tuple(f.name for f in fields(Actor))


def _serializer() -> URLSafeTimedSerializer:
    # A pure function of the secret key (the serializer keeps no state between calls): each app keeps
    # the one it made, rebuilt if the key changes.
    key = current_app.config["SECRET_KEY"]
    made: tuple[Any, URLSafeTimedSerializer] | None = current_app.extensions.get("actor_serializer")
    if made is None or made[0] != key:
        made = (key, URLSafeTimedSerializer(key, salt="lti-tool-actor"))
        current_app.extensions["actor_serializer"] = made
    return made[1]


def sign_in(actor: Actor) -> str:
    """Start a session for a verified launch; returns the URL token for cookie-less iframes."""
    session.clear()
    data = actor.to_dict()
    session["actor"] = data
    token = _serializer().dumps(data)
    g.actor = actor
    g.actor_token = token
    return token


def _from_token(token: str) -> Actor | None:
    try:
        return Actor.from_dict(_serializer().loads(token, max_age=TOKEN_IDLE_SECONDS))
    except (SignatureExpired, BadSignature, KeyError, ValueError, TypeError):
        return None


def _still_valid(actor: Actor) -> bool:
    """The session is younger than SESSION_MAX_SECONDS, and the course still gives the user every role
    the launch gave: a newer launch (or roster) with fewer roles supersedes older sessions and tokens."""
    if time.time() - actor.signed_in_at > SESSION_MAX_SECONDS:
        return False
    current = memberships.current_roles(db(), actor.context_id, actor.user_id)
    return actor.roles <= current


def current_actor_or_none() -> Actor | None:
    if "actor" in g:
        return cast(Actor | None, g.actor)
    actor: Actor | None = None
    token = request.args.get(TOKEN_PARAM) or request.form.get(TOKEN_PARAM)
    if token:
        actor = _from_token(token)
        if actor is not None and _still_valid(actor):
            g.actor_token = _serializer().dumps(actor.to_dict())  # slides: a fresh idle period
        else:
            actor = None
    if actor is None and "actor" in session:
        try:
            actor = Actor.from_dict(session["actor"])
        except (KeyError, ValueError, TypeError):
            actor = None
        if actor is not None and not _still_valid(actor):
            session.pop("actor", None)
            actor = None
    g.actor = actor
    return actor


def current_actor() -> Actor:
    actor = current_actor_or_none()
    if actor is None:
        abort(401, "Open this tool from your course: your session has ended or the launch was not completed.")
    return actor


# Who each role is, in the words of the course.
ROLE_NAMES = {LEARNER: "learners", ASSESSOR: "teachers who review evidence", DESIGNER: "the course's editors"}


def refusal(actor: Actor, roles: tuple[str, ...]) -> tuple[str, str]:
    """(code, message) for an actor without any of ``roles``: a teacher asking for an editor's page is told
    who can change the course (docs/decisions/0005-editing-and-teaching-roles.md)."""
    if roles == (DESIGNER,) and actor.has(ASSESSOR):
        return (
            "not_an_editor",
            "Changing what this course follows (its course map, their versions and placements) and who edits "
            "it is for the course's editors. You are signed in as a teacher who reviews evidence; an editor "
            "can add you on the course dashboard.",
        )
    return "role_required", f"This is for {' or '.join(ROLE_NAMES.get(r, r) for r in roles)} in this course."


def require_role(*roles: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if not actor.has(*roles):
                code, message = refusal(actor, roles)
                return error_response(403, code, message)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def url(endpoint: str, **values: Any) -> str:
    """url_for that keeps the cookie-less session token when the request came with one."""
    links = _links()
    return _with_token(_built(endpoint, values, links), _link_query(links))


def urls(endpoint: str, name: str, values: Iterable[Any]) -> list[str]:
    """``url(endpoint, **{name: value})`` for each of ``values``: what a page's rows link to (a credential
    each), with what the links of one request share looked up once."""
    links = _links()
    query = _link_query(links)
    built, root = links.built, links.root
    found: list[str] = []
    for value in values:
        try:
            href = built.get((root, endpoint, ((name, value),)))  # the key _built keeps it under
        except TypeError:  # an unhashable value
            href = None
        if href is None:
            href = _built(endpoint, {name: value}, links)
        found.append(_with_token(href, query))
    return found


def _with_token(built: str, query: str | None) -> str:
    if not query:
        return built
    return built + ("&" if "?" in built else "?") + query


class _Links:
    """What every link of one request shares: the app's built URLs, the request's script root, and the
    request's own ``g`` and session objects, held directly: each access through Flask's context proxies
    costs a context-variable lookup, and a page builds ~20 links."""

    __slots__ = ("built", "root", "g", "session", "memo")

    def __init__(self) -> None:
        self.built: dict[tuple[Any, ...], str] = current_app.extensions.setdefault("built_urls", {})
        self.root = request.script_root
        self.g = g._get_current_object()  # type: ignore[attr-defined]
        self.session = session._get_current_object()  # type: ignore[attr-defined]
        # (token, signed in, answer) of _link_query, for this request.
        self.memo: tuple[str, bool, str | None] | None = None


def _links() -> _Links:
    links: _Links | None = g.get("_links")
    if links is None:
        links = g._links = _Links()
    return links


# url_for costs ~30 us a call and a page makes ~20 of them, mostly the same ones for every learner (a
# credential's page, a stack's): the URL is a pure function of the app's routes, its root and the values,
# so each app keeps the ones it built (bounded).
_BUILT_MAX = 20_000


def _built(endpoint: str, values: dict[str, Any], links: _Links) -> str:
    for name in values:
        if name.startswith("_"):  # _external, _scheme ...: depend on the request's host
            return url_for(endpoint, **values)
    built = links.built
    try:
        key = (links.root, endpoint, tuple(sorted(values.items())))
        found = built.get(key)
    except TypeError:  # an unhashable value: build it each time
        return url_for(endpoint, **values)
    if found is None:
        found = url_for(endpoint, **values)
        if len(built) < _BUILT_MAX:
            built[key] = found
    return found


def _link_query(links: _Links) -> str | None:
    """The session token links must carry, as their query parameter (``lt=...``): when the request came
    with one, or when there is no session cookie. A page builds a link per credential: the answer is kept
    for the request, keyed by the token and the session's actor (a sign-in during the request changes
    both)."""
    token = links.g.get("actor_token")
    if not token:
        return None
    signed_in = "actor" in links.session
    memo = links.memo
    if memo is not None and memo[0] == token and memo[1] == signed_in:
        return memo[2]
    carried = bool(request.args.get(TOKEN_PARAM) or request.form.get(TOKEN_PARAM))
    answer = urlencode({TOKEN_PARAM: token}) if carried or not signed_in else None
    links.memo = (token, signed_in, answer)
    return answer


def static_url(filename: str) -> str:
    """A static file's URL (as ``url_for('static', filename=...)``; never with the session token), kept
    as ``url`` keeps the others: every page's head links the same few files."""
    return _built("static", {"filename": filename}, _links())


def token_field() -> str:
    """Hidden input carrying the session token in forms (empty when cookies work)."""
    token = g.get("actor_token")
    if not token or ("actor" in session and not request.args.get(TOKEN_PARAM)):
        return ""
    return f'<input type="hidden" name="{TOKEN_PARAM}" value="{token}">'
