"""Deep Linking: a course designer picks stacks or credentials and returns them to the platform.

``GET /lti/deep-link`` shows the picker. In a course that follows no course map yet it first asks which
one (the loaded maps with their stacks); ``POST /lti/deep-link/course-map`` binds it (``bind_course``,
audited, only while the course is still unbound) and comes back to the placement, in the same dialog, the
``dl`` and ``lt`` tokens kept. The placement lists each stack with its credentials under it (checkboxes
when the platform accepts several items, radio buttons otherwise) and, per stack, whether the stack or each
of its credentials is graded (domain/placements.py: by default the same work is never counted twice).
``POST /lti/deep-link`` answers with an auto-submitting form that carries a signed
``LtiDeepLinkingResponse`` to the platform's ``deep_link_return_url``; a form with nothing picked comes
back with the picker and a message at the field. Each item is an ``ltiResourceLink`` whose custom
parameters name the stack or credential and the course map; a graded item carries a ``lineItem`` whose
``resourceId`` is the one the gradebook (lti/ags.py) looks for, so the placement's column and the scores
we send meet; an ungraded one carries none, so the platform makes no column for it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Blueprint, Flask, abort, redirect, render_template, request

from ..domain import placements
from ..domain.completion import progress
from ..domain.definitions import CourseMap
from ..lti import keys
from ..lti.ags import resource_id
from ..lti.deep_linking_session import (
    TOKEN_PARAM,
    DeepLinkSettings,
    answered,
    current_deep_link,
    forget,
)
from ..services import course_binding
from ..services.errors import Conflict, ServiceError
from ..services.gradebook import CREDENTIAL, STACK
from ..services.progress import bind_course
from ..url_policy import UnsafeUrl, check_platform_url
from .auth import DESIGNER, Actor, current_actor, require_role, url
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


def content_item(choice: Choice, course_key: str, launch_url: str, *, graded: bool = True) -> dict[str, Any]:
    """The placement of one stack or credential; ``graded=False``: no ``lineItem``, so no grade column."""
    item: dict[str, Any] = {
        "type": "ltiResourceLink",
        "title": choice.title,
        "text": choice.text,
        "url": launch_url,
        "custom": {choice.kind: choice.key, "course_map": course_key},
    }
    if not graded:
        # ... and the tool makes no column for it either (lti.accept reads this into the placement)
        item["custom"][placements.UNGRADED_PARAM] = placements.UNGRADED_VALUE
    else:
        item["lineItem"] = {
            "scoreMaximum": choice.score_maximum,
            "label": choice.title,
            "resourceId": resource_id(choice.kind, choice.key),
            "tag": choice.kind,
        }
    return item


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


NOTICES = {
    "bound": "The course now follows this course map. Choose what to place.",
    "already_bound": "Meanwhile this course was linked to a course map; choose what to place from it.",
}


def _dl_token() -> str:
    return request.args.get(TOKEN_PARAM) or request.form.get(TOKEN_PARAM) or ""


def _choose_map(dl: DeepLinkSettings, *, status: int = 200, error: str | None = None) -> tuple[str, int]:
    """The first step in a course that follows no course map yet: which one it follows."""
    page = render_template(
        "deep_linking/picker.html",
        step="choose_map",
        dl=dl,
        dl_token=_dl_token(),
        maps=course_binding.loaded_maps(db()),
        error=error,
        notice=None,
    )
    return page, status


def _place(
    dl: DeepLinkSettings,
    course: CourseMap,
    *,
    status: int = 200,
    error: str | None = None,
    picked: list[str] | None = None,
    gradings: dict[str, str] | None = None,
) -> tuple[str, int]:
    by_value = {c.value: c for c in choices(course)}
    groups = placements.picker_groups(course)
    page = render_template(
        "deep_linking/picker.html",
        step="place",
        dl=dl,
        dl_token=_dl_token(),
        course=course,
        stack_groups=[
            (by_value[f"{STACK}:{g.stack.id}"], [by_value[f"{CREDENTIAL}:{cr.id}"] for cr in g.credentials])
            for g in groups.stacks
        ],
        loose=[by_value[f"{CREDENTIAL}:{cr.id}"] for cr in groups.loose],
        picked=set(picked or ()),
        gradings=gradings or {},
        grade_stack=placements.GRADE_STACK,
        grade_credentials=placements.GRADE_CREDENTIALS,
        error=error,
        notice=NOTICES.get(request.args.get("notice", "")),
    )
    return page, status


def _back_to_picker(notice: str) -> Any:
    """Post/Redirect/Get to the placement step, with the cookie-less ``dl`` (and, by url(), ``lt``)."""
    token = _dl_token()
    values = {TOKEN_PARAM: token} if token else {}
    return redirect(url("deep_linking.picker", notice=notice, **values), 303)


@bp.get("/lti/deep-link")
@require_role(DESIGNER)
def picker() -> Any:
    actor = current_actor()
    dl = _settings_for(actor)
    course = course_binding.bound_course_map(db(), actor.context_id)
    if course is None:
        return _choose_map(dl)
    return _place(dl, course)


@bp.post("/lti/deep-link/course-map")
@require_role(DESIGNER)
def choose_course_map() -> Any:
    """Bind the course to the chosen map (only while it is unbound), then go on to the placement."""
    actor = current_actor()
    dl = _settings_for(actor)
    course_key = request.form.get("course_key", "").strip()
    if not course_key:
        return _choose_map(
            dl, status=400, error="Choose the course map this course follows, then press Continue."
        )
    try:
        bind_course(db(), actor.context_id, course_key, actor.user_id, expected=None)
    except Conflict:
        return _back_to_picker("already_bound")
    except ServiceError as exc:
        return _choose_map(dl, status=exc.status, error=exc.message)
    return _back_to_picker("bound")


@bp.post("/lti/deep-link")
@require_role(DESIGNER)
def respond() -> Any:
    actor = current_actor()
    dl = _settings_for(actor)
    course = course_binding.bound_course_map(db(), actor.context_id)
    if course is None:
        return _choose_map(dl, status=400, error="First choose the course map this course follows.")
    by_value = {c.value: c for c in choices(course)}
    picked = list(dict.fromkeys(request.form.getlist("item")))
    gradings = {k[len("grading-") :]: v for k, v in request.form.items() if k.startswith("grading-") and v}

    def again(message: str) -> tuple[str, int]:
        return _place(dl, course, status=400, error=message, picked=picked, gradings=gradings)

    if not picked:
        return again(
            "Nothing is selected yet: tick the stack or micro-credential this activity should open, "
            "then press 'Add to course'."
        )
    unknown = [p for p in picked if p not in by_value]
    if unknown:
        return again(f"Not in this course map: {', '.join(unknown)}. Choose from the list.")
    if len(picked) > 1 and not dl.accept_multiple:
        return again("The platform accepts one item here: pick a single stack or credential.")
    if any(v not in placements.GRADINGS for v in gradings.values()):
        return again("Choose how each placed stack is graded.")
    try:
        # The return URL came in the platform's signed launch; the browser is still only sent to a safe one.
        check_platform_url(
            dl.deep_link_return_url, "deep_link_return_url", development=settings().development
        )
    except UnsafeUrl as exc:
        abort(400, f"The platform's deep-linking return address is not usable: {exc}")
    launch_url = settings().base_url + "/lti/launch"
    placed = placements.placements(course, [(by_value[p].kind, by_value[p].key) for p in picked], gradings)
    items = [
        content_item(by_value[f"{p.kind}:{p.key}"], course.id, launch_url, graded=p.graded) for p in placed
    ]
    message = f"Micro-credential Stacks: {len(items)} item{'s' if len(items) != 1 else ''} selected"
    if not answered(db(), dl):
        forget()
        abort(409, "This content selection was already sent to your course: open 'Select content' again.")
    token = response_jwt(dl, items, message)
    forget()
    return render_template("deep_linking/return.html", action=dl.deep_link_return_url, jwt=token, items=items)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
