"""A development LTI 1.3 platform inside the tool (only when ``DEV_PLATFORM`` is on; 404 otherwise).

It is a real platform: its own RSA key (``instance/dev_platform_key.pem``), its JWKS at
``/dev/platform/jwks.json``, an OIDC authorization endpoint ``/dev/platform/auth`` that checks the tool's
authentication request and auto-posts a signed id_token to ``/lti/launch``, and a deep-linking return
endpoint that verifies the tool's signed LtiDeepLinkingResponse. On first use it registers itself as a
Platform + Deployment (issuer ``BASE_URL/dev/platform``, client id ``dev-tool``, deployment
``dev-deployment``). It has one development course per loaded course map (``dev_course_id``: ``dev-course``
for ``learning-differences``, ``dev-course-<map>`` for any other), whose launches name that map in the
``course_map`` custom parameter, so a course binds to its map on the first launch; its home page offers
launches into each, and links to its gradebook page (``/dev/platform/scores``).

For the platform's service endpoints (token, NRPS, AGS, in another module):
- ``dev_platform_key() -> (kid, private_key_pem)`` signs what the platform signs;
- ``dev_platform_jwks()`` is its public key set; ``dev_issuer()``, ``DEV_CLIENT_ID``, ``DEV_DEPLOYMENT_ID``
  name the registration, ``DEV_CONTEXT_ID`` the course of ``DEV_COURSE_MAP``;
- ``dev_users()`` lists the fake people (sub, name, email, LTI role URIs) for the roster.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, request
from jwt import PyJWKSet

from ..db import Database
from ..extensions import csrf
from ..lti import claims as c
from ..lti import keys as tool_keys
from ..lti.keys import generate_rsa_pem, public_jwk, thumbprint_kid
from ..lti.registrations import find_platform, save_platform

log = logging.getLogger("lti_tool.dev_platform")
bp = Blueprint("dev_platform", __name__, url_prefix="/dev/platform", template_folder="templates")
csrf.exempt(bp)

DEV_CLIENT_ID = "dev-tool"
DEV_DEPLOYMENT_ID = "dev-deployment"
DEV_CONTEXT_ID = "dev-course"
DEV_COURSE_MAP = "learning-differences"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


@dataclass(frozen=True)
class DevUser:
    sub: str
    name: str
    given_name: str
    family_name: str
    email: str
    roles: tuple[str, ...]
    label: str


_USERS = (
    DevUser(
        "dev-learner",
        "Lee Learner",
        "Lee",
        "Learner",
        "lee@dev.example",
        (MEMBERSHIP + "Learner",),
        "learner",
    ),
    DevUser(
        "dev-learner-2",
        "Lou Lerner",
        "Lou",
        "Lerner",
        "lou@dev.example",
        (MEMBERSHIP + "Learner",),
        "learner",
    ),
    DevUser(
        "dev-assessor",
        "Ada Assessor",
        "Ada",
        "Assessor",
        "ada@dev.example",
        ("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",),
        "assessor",
    ),
    DevUser(
        "dev-designer",
        "Dee Designer",
        "Dee",
        "Designer",
        "dee@dev.example",
        # An editing role: Instructor alone is a teacher who assesses (docs/decisions/0005).
        (MEMBERSHIP + "Instructor", MEMBERSHIP + "ContentDeveloper"),
        "course designer",
    ),
)


def dev_users() -> list[DevUser]:
    return list(_USERS)


def dev_issuer() -> str:
    return str(current_app.extensions["settings"].base_url) + "/dev/platform"


def _key_path(app: Flask) -> Path:
    return Path(app.instance_path) / "dev_platform_key.pem"


def dev_platform_key(app: Flask | None = None) -> tuple[str, str]:
    """(kid, private key PEM) of the development platform; created in the instance folder on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cached = app.extensions.get("dev_platform_key")
    if cached:
        return tuple(cached)  # type: ignore[return-value]
    path = _key_path(app)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(generate_rsa_pem())
        tmp.chmod(0o600)
        os.replace(tmp, path)
    pem = path.read_text()
    kid = thumbprint_kid(public_jwk(pem, ""))
    app.extensions["dev_platform_key"] = (kid, pem)
    return kid, pem


def dev_platform_jwks(app: Flask | None = None) -> dict[str, Any]:
    kid, pem = dev_platform_key(app)
    return {"keys": [public_jwk(pem, kid)]}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    settings = app.extensions["settings"]
    if settings.dev_platform:
        # The tool reads this platform's keys in-process: a one-worker server must not wait on itself.
        cache = app.extensions["lti_key_cache"]
        cache.local_sources[settings.base_url + "/dev/platform/jwks.json"] = lambda: dev_platform_jwks(app)


@bp.before_request
def _only_when_enabled() -> None:
    if not current_app.extensions["settings"].dev_platform:
        abort(404)


def _db() -> Database:
    db: Database = current_app.extensions["db"]
    return db


def ensure_registered() -> None:
    """Register the dev platform with the tool, and load its course map, the first time it is used."""
    base = str(current_app.extensions["settings"].base_url)
    if find_platform(_db(), dev_issuer(), DEV_CLIENT_ID) is None:
        save_platform(
            _db(),
            issuer=dev_issuer(),
            client_id=DEV_CLIENT_ID,
            auth_login_url=base + "/dev/platform/auth",
            auth_token_url=base + "/dev/platform/token",
            auth_token_audience=base + "/dev/platform/token",
            jwks_url=base + "/dev/platform/jwks.json",
            name="Development platform",
            product_family="dev-platform",
            deployment_ids=[DEV_DEPLOYMENT_ID],
            # The tool's own origin, set by its operator: no invite, and http:// when served so.
            development=True,
        )
    from ..services import course_maps

    if DEV_COURSE_MAP not in {course.key for course in course_maps.list_courses(_db())}:
        path = Path(current_app.extensions["settings"].course_maps_dir) / DEV_COURSE_MAP
        try:
            course_maps.load_course_maps(_db(), [path])
        except Exception as exc:  # the page still works; launches just keep the context unbound
            log.warning("event=dev_course_map_unavailable path=%s error=%s", path, exc)


def dev_course_id(course_key: str) -> str:
    """The development course that follows ``course_key``: one course per loaded map."""
    return DEV_CONTEXT_ID if course_key == DEV_COURSE_MAP else f"{DEV_CONTEXT_ID}-{course_key}"


@dataclass(frozen=True)
class DevCourse:
    key: str
    title: str
    context_id: str
    stacks: list[tuple[str, str]]
    credentials: list[tuple[str, str]]


def _courses() -> list[DevCourse]:
    """A development course per loaded course map, the shipped ``DEV_COURSE_MAP`` first."""
    from ..services import course_maps

    courses = []
    for summary in course_maps.list_courses(_db()):
        course = course_maps.get_course_map(_db(), summary.key, summary.version_id)
        courses.append(
            DevCourse(
                summary.key,
                summary.title,
                dev_course_id(summary.key),
                [(s.id, s.title) for s in course.stacks],
                [(cr.id, cr.title) for cr in course.credentials],
            )
        )
    return sorted(courses, key=lambda c: (c.key != DEV_COURSE_MAP, c.title.lower()))


@bp.get("")
@bp.get("/")
def home() -> str:
    ensure_registered()
    return render_template(
        "dev_platform/home.html", users=dev_users(), courses=_courses(), issuer=dev_issuer()
    )


@bp.post("/start")
def start() -> str:
    """The platform's side of third-party initiated login: auto-post the initiation to the tool."""
    ensure_registered()
    user = _user(request.form.get("user", ""))
    if user is None:
        abort(400, "Unknown development user.")
    message_type = (
        c.DEEP_LINKING_REQUEST if request.form.get("message") == "deep_linking" else c.RESOURCE_LINK_REQUEST
    )
    course_map = request.form.get("course") or DEV_COURSE_MAP
    if course_map not in {course.key for course in _courses()}:
        abort(400, f"No course map {course_map!r} is loaded: put it in COURSE_MAPS_DIR and load it.")
    hint = {"message_type": message_type, "course_map": course_map}
    target = request.form.get("target", "")
    if ":" in target:
        kind, key = target.split(":", 1)
        if kind in ("stack", "credential") and key:
            hint[kind] = key
    base = str(current_app.extensions["settings"].base_url)
    fields = {
        "iss": dev_issuer(),
        "login_hint": user.sub,
        "target_link_uri": base + "/lti/launch",
        "lti_message_hint": json.dumps(hint),
        "client_id": DEV_CLIENT_ID,
        "lti_deployment_id": DEV_DEPLOYMENT_ID,
    }
    return render_template("dev_platform/autopost.html", action=base + "/lti/login", fields=fields)


def _user(sub: str) -> DevUser | None:
    return next((u for u in _USERS if u.sub == sub), None)


@bp.get("/jwks.json")
def jwks() -> Any:
    return jsonify(dev_platform_jwks())


@bp.get("/auth")
def auth() -> Any:
    """OIDC authorization endpoint: check the tool's request, then form-post a signed id_token."""
    args = request.args
    base = str(current_app.extensions["settings"].base_url)
    expected = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
    }
    for name, value in expected.items():
        if args.get(name) != value:
            abort(400, f"Authentication request: {name} must be {value!r}.")
    if args.get("client_id") != DEV_CLIENT_ID:
        abort(400, "Authentication request: unknown client_id.")
    if args.get("redirect_uri") != base + "/lti/launch":
        abort(400, "Authentication request: redirect_uri is not registered.")
    if not args.get("nonce") or not args.get("state"):
        abort(400, "Authentication request: nonce and state are required.")
    user = _user(args.get("login_hint", ""))
    if user is None:
        abort(400, "Authentication request: unknown login_hint.")
    try:
        hint = json.loads(args.get("lti_message_hint") or "{}")
    except ValueError:
        abort(400, "Authentication request: lti_message_hint is not JSON.")
    id_token = sign_id_token(user, str(args["nonce"]), hint if isinstance(hint, dict) else {})
    return render_template(
        "dev_platform/autopost.html",
        action=args["redirect_uri"],
        fields={"id_token": id_token, "state": args["state"]},
    )


def launch_claims(user: DevUser, nonce: str, hint: dict[str, Any]) -> dict[str, Any]:
    base = str(current_app.extensions["settings"].base_url)
    issuer = dev_issuer()
    now = int(time.time())
    message_type = hint.get("message_type") or c.RESOURCE_LINK_REQUEST
    course_map = str(hint.get("course_map") or DEV_COURSE_MAP)
    context_id = dev_course_id(course_map)
    # The course's placements name its map, as a Deep Linking placement does in an LMS.
    custom: dict[str, str] = {"course_map": course_map}
    for kind in ("stack", "credential"):
        if hint.get(kind):
            custom[kind] = str(hint[kind])
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": DEV_CLIENT_ID,
        "sub": user.sub,
        "iat": now,
        "exp": now + 60,
        "nonce": nonce,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.email,
        c.DEPLOYMENT_ID: DEV_DEPLOYMENT_ID,
        c.MESSAGE_TYPE: message_type,
        c.VERSION: "1.3.0",
        c.TARGET_LINK_URI: base + "/lti/launch",
        c.ROLES: list(user.roles),
        c.CONTEXT: {
            "id": context_id,
            "label": "DEV101" if context_id == DEV_CONTEXT_ID else f"DEV-{course_map}"[:64],
            "title": "Development course"
            if context_id == DEV_CONTEXT_ID
            else f"Development course: {course_map}",
            "type": ["CourseSection"],
        },
        c.TOOL_PLATFORM: {"product_family_code": "dev-platform", "name": "Development platform"},
        c.CUSTOM: custom,
        c.NRPS: {
            "context_memberships_url": f"{issuer}/nrps/{context_id}/memberships",
            "service_versions": ["2.0"],
        },
        c.AGS_ENDPOINT: {
            "scope": [c.SCOPE_LINEITEM, c.SCOPE_LINEITEM_READONLY, c.SCOPE_RESULT_READONLY, c.SCOPE_SCORE],
            "lineitems": f"{issuer}/ags/{context_id}/lineitems",
        },
    }
    if message_type == c.DEEP_LINKING_REQUEST:
        claims[c.DEEP_LINKING_SETTINGS] = {
            "deep_link_return_url": issuer + "/deep-link-return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True,
            "data": "dev-" + uuid.uuid4().hex[:8],
            "title": "Add a stack or credential",
        }
    else:
        link_id = "dev-link-" + "-".join(f"{k}-{custom[k]}" for k in ("stack", "credential") if k in custom)
        claims[c.RESOURCE_LINK] = {"id": link_id, "title": "Micro-credential Stacks"}
    return claims


def sign_id_token(user: DevUser, nonce: str, hint: dict[str, Any]) -> str:
    kid, pem = dev_platform_key()
    return jwt.encode(launch_claims(user, nonce, hint), pem, algorithm="RS256", headers={"kid": kid})


@bp.post("/deep-link-return")
def deep_link_return() -> Any:
    """Verify the tool's LtiDeepLinkingResponse with the tool's published keys and show the items."""
    token = request.form.get("JWT", "")
    try:
        header = jwt.get_unverified_header(token)
        keyset = PyJWKSet.from_dict(tool_keys.public_jwks(_db()))
        key = next(k for k in keyset.keys if k.key_id == header.get("kid"))
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=dev_issuer(), issuer=DEV_CLIENT_ID)
    except (jwt.PyJWTError, StopIteration) as exc:
        return render_template(
            "dev_platform/deep_link_return.html", error=f"Refused: {exc or 'unknown kid'}"
        ), 400
    problems = []
    if claims.get(c.MESSAGE_TYPE) != "LtiDeepLinkingResponse":
        problems.append("message_type is not LtiDeepLinkingResponse")
    if claims.get(c.VERSION) != "1.3.0":
        problems.append("version is not 1.3.0")
    if claims.get(c.DEPLOYMENT_ID) != DEV_DEPLOYMENT_ID:
        problems.append("deployment_id is not dev-deployment")
    if problems:
        return render_template("dev_platform/deep_link_return.html", error="; ".join(problems)), 400
    items = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items") or []
    return render_template(
        "dev_platform/deep_link_return.html",
        error=None,
        items=items,
        data=claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/data"),
        msg=claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/msg"),
    )
