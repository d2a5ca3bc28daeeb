"""Deep Linking: a course designer picks stacks or credentials and returns them to the platform.

``GET /lti/deep-link`` shows the course map's stacks and credentials (checkboxes when the platform accepts
several items, radio buttons otherwise); ``POST`` answers with an auto-submitting form that carries a signed
``LtiDeepLinkingResponse`` to the platform's ``deep_link_return_url``. Each item is an ``ltiResourceLink``
whose custom parameters name the stack or credential and whose ``lineItem.resourceId`` is the one the
gradebook (lti/ags.py) looks for, so the placement's column and the scores we send meet.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Blueprint, Flask, abort, render_template, request

from ..domain.completion import progress
from ..domain.definitions import CourseMap
from ..lti import keys
from ..lti.ags import resource_id
from ..lti.deep_linking_session import DeepLinkSettings, answered, current_deep_link, forget
from ..lti.url_policy import UnsafeUrl, check_platform_url
from ..services import course_maps
from ..services.gradebook import CREDENTIAL, STACK
from .auth import DESIGNER, Actor, current_actor, require_role
from .context import db, settings

bp = Blueprint("deep_linking", __name__)

RESPONSE_LIFETIME = 600
CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
DL_MSG = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"


@dataclass(frozen=True)
class Choice:
    value: str  # "stack:KEY" | "credential:KEY"
    kind: str
    key: str
    title: str
    text: str
    score_maximum: int


def choices(course: CourseMap) -> list[Choice]:
    result = [
        Choice(
            f"{STACK}:{s.id}",
            STACK,
            s.id,
            s.title,
            s.statement,
            max(progress(s, frozenset())[1], 1),
        )
        for s in course.stacks
    ]
    result += [
        Choice(f"{CREDENTIAL}:{cr.id}", CREDENTIAL, cr.id, cr.title, cr.competency, 1)
        for cr in course.credentials
    ]
    return result


def content_item(choice: Choice, course_key: str, launch_url: str) -> dict[str, Any]:
    return {
        "type": "ltiResourceLink",
        "title": choice.title,
        "text": choice.text,
        "url": launch_url,
        "custom": {choice.kind: choice.key, "course_map": course_key},
        "lineItem": {
            "scoreMaximum": choice.score_maximum,
            "label": choice.title,
            "resourceId": resource_id(choice.kind, choice.key),
            "tag": choice.kind,
        },
    }


def response_jwt(dl: DeepLinkSettings, items: list[dict[str, Any]], message: str) -> str:
    """The signed LtiDeepLinkingResponse: iss is our client id, aud the platform, kid our active key."""
    kid, private_key_pem = keys.active_signing_key(db())
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": dl.client_id,
        "aud": dl.issuer,
        "iat": now,
        "exp": now + RESPONSE_LIFETIME,
        "nonce": uuid.uuid4().hex,
        LTI + "deployment_id": dl.deployment_id,
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        CONTENT_ITEMS: items,
        DL_MSG: message,
    }
    if dl.data is not None:
        claims[DL_DATA] = dl.data
    return jwt.encode(claims, private_key_pem, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def _settings_for(actor: Actor) -> DeepLinkSettings:
    dl = current_deep_link()
    if dl is None:
        abort(400, "No deep-linking request is open: use your course's 'Select content' to add this tool.")
    if dl.context_pk != actor.context_id or dl.user_id != actor.user_id:
        abort(403, "This deep-linking request belongs to another course or person.")
    if "ltiResourceLink" not in dl.accept_types:
        abort(400, "The platform does not accept LTI resource links here, the only item this tool offers.")
    return dl


def _course(actor: Actor) -> tuple[str, CourseMap]:
    if not actor.course_key:
        abort(409, "This course has no course map yet: choose one on the course page, then add content.")
    try:
        return actor.course_key, course_maps.get_course_map(db(), actor.course_key)
    except course_maps.CourseMapNotFound:
        abort(409, f"The course map {actor.course_key!r} is not loaded.")


@bp.get("/lti/deep-link")
@require_role(DESIGNER)
def picker() -> str:
    actor = current_actor()
    dl = _settings_for(actor)
    course_key, course = _course(actor)
    return render_template(
        "deep_linking/picker.html",
        dl=dl,
        dl_token=request.args.get("dl", ""),
        course=course,
        choices=choices(course),
    )


@bp.post("/lti/deep-link")
@require_role(DESIGNER)
def respond() -> str:
    actor = current_actor()
    dl = _settings_for(actor)
    course_key, course = _course(actor)
    by_value = {c.value: c for c in choices(course)}
    picked = request.form.getlist("item")
    if not picked:
        abort(400, "Pick at least one stack or credential.")
    unknown = [p for p in picked if p not in by_value]
    if unknown:
        abort(400, f"Not in this course map: {', '.join(unknown)}.")
    if len(picked) > 1 and not dl.accept_multiple:
        abort(400, "The platform accepts one item here: pick a single stack or credential.")
    try:
        # The return URL came in the platform's signed launch; the browser is still only sent to a safe one.
        check_platform_url(
            dl.deep_link_return_url, "deep_link_return_url", development=settings().development
        )
    except UnsafeUrl as exc:
        abort(400, f"The platform's deep-linking return address is not usable: {exc}")
    launch_url = settings().base_url + "/lti/launch"
    items = [content_item(by_value[p], course_key, launch_url) for p in dict.fromkeys(picked)]
    message = f"Micro-credential Stacks: {len(items)} item{'s' if len(items) != 1 else ''} selected"
    if not answered(db(), dl):
        forget()
        abort(409, "This content selection was already sent to your course: open 'Select content' again.")
    token = response_jwt(dl, items, message)
    forget()
    return render_template("deep_linking/return.html", action=dl.deep_link_return_url, jwt=token, items=items)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
