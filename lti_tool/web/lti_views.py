"""``/lti/*``: the tool's LTI endpoints (keys, OIDC login, launch, dynamic registration, Canvas config).

Views parse the request, call the adapter in ``lti_tool.lti`` and the launch service, and answer.
A refused request answers a 4xx page (or JSON) with a stable code and logs ``event=launch_refused check=...``.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Flask, Response, current_app, jsonify, redirect, render_template, request

from ..extensions import csrf
from ..lti import claims as c
from ..lti import deep_linking_session, keys
from ..lti.accept import accept_launch
from ..lti.canvas import developer_key_config
from ..lti.dynamic_registration import register
from ..lti.errors import LtiRefused
from ..lti.invites import INVITE_PARAM
from ..lti.jwks_cache import PlatformKeyCache
from ..lti.launch import StateNotConfirmed, VerifiedLaunch
from ..lti.login import STATE_COOKIE_PREFIX, STATE_LIFETIME, origin, start_login, storage_page_data
from ..lti.registration_cache import RegistrationCache
from ..lti.roles import landing_role
from ..services.errors import ServiceError
from ..services.progress import LearnerStanding
from ..url_policy import UnsafeUrl, check_platform_url
from . import auth
from .context import db, settings
from .errors import error_response
from .launch_check import STORAGE_CHECK_FIELD, storage_check, storage_check_valid
from .learner import home_page

log = logging.getLogger("lti_tool.lti")
bp = Blueprint(
    "lti",
    __name__,
    url_prefix="/lti",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
csrf.exempt(bp)

LANDING = {auth.DESIGNER: "/design/", auth.ASSESSOR: "/assess/", auth.LEARNER: "/learn/"}


def init_app(app: Flask) -> None:
    app.extensions["lti_key_cache"] = PlatformKeyCache(
        app.extensions["db"],
        min_refresh_seconds=float(app.config.get("LTI_JWKS_MIN_REFRESH_SECONDS", 5.0)),
        development=app.extensions["settings"].development,
    )
    app.extensions["lti_registration_cache"] = RegistrationCache(app.extensions["db"])
    app.register_blueprint(bp)


def key_cache() -> PlatformKeyCache:
    cache: PlatformKeyCache = current_app.extensions["lti_key_cache"]
    return cache


def _base_url() -> str:
    return str(current_app.extensions["settings"].base_url)


def _refused(exc: LtiRefused, event: str) -> tuple[Response, int]:
    log.warning(
        "event=%s check=%s code=%s status=%s iss=%s",
        event,
        exc.check,
        exc.code,
        exc.status,
        request.values.get("iss", "-"),
    )
    return error_response(exc.status, exc.code, exc.message)  # type: ignore[no-any-return]


@bp.get("/jwks.json")
def jwks() -> Response:
    response = jsonify(keys.public_jwks(db()))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    params = {**request.args.to_dict(), **request.form.to_dict()}
    try:
        result = start_login(db(), _base_url(), params, development=settings().development)
    except LtiRefused as exc:
        return _refused(exc, "login_refused")
    if result.storage_target:
        response = Response(render_template("lti/storage.html", data=storage_page_data(result)))
    else:
        response = redirect(result.auth_url, 302)
    # SameSite=None (the launch is a cross-site POST from the platform) needs Secure, so HTTPS; a tool
    # served over plain http (development) is launched by a platform on its own site, where Lax works.
    secure = settings().session_cookie_secure
    response.set_cookie(
        STATE_COOKIE_PREFIX + result.state,
        result.state,
        max_age=int(STATE_LIFETIME.total_seconds()),
        secure=secure,
        httponly=True,
        samesite="None" if secure else "Lax",
        path="/lti/",
    )
    return response


def _return_origin(claims: dict[str, Any]) -> str | None:
    """The origin of the page the platform frames the tool in (its launch_presentation.return_url), when
    it is a URL the policy accepts: Canvas frames tools on the school's host, not the issuer's."""
    presentation = claims.get(c.LAUNCH_PRESENTATION)
    url = presentation.get("return_url") if isinstance(presentation, dict) else None
    try:
        check_platform_url(url, "return_url", development=settings().development)
    except UnsafeUrl:
        return None
    return origin(str(url))


def _landing(launch: VerifiedLaunch, role: str) -> str:
    if role == auth.LEARNER:
        custom = launch.custom
        if custom.get("stack"):
            return "/learn/stacks/" + quote(custom["stack"], safe="")
        if custom.get("credential"):
            return "/learn/credentials/" + quote(custom["credential"], safe="")
    return LANDING[role]


@bp.post("/launch")
def launch():  # type: ignore[no-untyped-def]
    id_token = request.form.get("id_token", "")
    state = request.form.get("state", "")
    cookie = request.cookies.get(STATE_COOKIE_PREFIX + state) if state else None
    confirmed = storage_check_valid(state, request.form.get(STORAGE_CHECK_FIELD, ""))
    try:
        verified, record = accept_launch(
            db(),
            key_cache(),
            id_token,
            state,
            cookie,
            admins_are_designers=bool(current_app.extensions["settings"].lms_admins_are_designers),
            storage_confirmed=confirmed,
            registrations=current_app.extensions["lti_registration_cache"],
        )
    except LtiRefused as exc:
        return _refused(exc, "launch_refused")
    except StateNotConfirmed as pending:
        return _confirm_in_browser(pending, id_token, state)
    # The roles the course gives (record.roles): the platform's, plus designer for a listed editor.
    roles = record.roles or verified.roles
    role = landing_role(roles)
    assert role is not None  # accept_launch refuses launches without a role we understand
    claims = verified.claims
    actor = auth.Actor(
        user_id=record.user_id,
        platform_id=verified.platform_id,
        deployment_id=record.deployment_pk,
        context_id=record.context_pk,
        name=str(claims.get("name") or claims.get("given_name") or ""),
        roles=roles,
        course_key=record.course_key,
        frame_origin=_return_origin(claims),
    )
    token = auth.sign_in(actor)
    query: dict[str, str] = {}
    if verified.message_type == c.DEEP_LINKING_REQUEST:
        dl_settings = verified.deep_linking_settings
        query[deep_linking_session.TOKEN_PARAM] = deep_linking_session.remember(
            deep_linking_session.DeepLinkSettings(
                deep_link_return_url=str(dl_settings.get("deep_link_return_url") or ""),
                data=dl_settings.get("data"),
                accept_types=tuple(dl_settings.get("accept_types") or ()),
                accept_multiple=bool(dl_settings.get("accept_multiple", False)),
                accept_presentation_document_targets=tuple(
                    dl_settings.get("accept_presentation_document_targets") or ()
                ),
                title=str(dl_settings.get("title") or ""),
                text=str(dl_settings.get("text") or ""),
                issuer=verified.issuer,
                client_id=verified.client_id,
                deployment_id=verified.deployment_id,
                platform_id=verified.platform_id,
                context_pk=record.context_pk,
                user_id=record.user_id,
                request_id=secrets.token_urlsafe(24),
            )
        )
        location = "/lti/deep-link"
    else:
        location = _landing(verified, role)
    if cookie is None:
        # No state cookie came back: this browser blocks third-party cookies, so the session travels
        # in the URL (auth.url() keeps it on every link from here on).
        query[auth.TOKEN_PARAM] = token
    elif deep_linking_session.TOKEN_PARAM in query:
        query.pop(deep_linking_session.TOKEN_PARAM)
    if query:
        location += "?" + urlencode(query)
    log.info(
        "event=launch_accepted platform_id=%s user_id=%s context_id=%s message_type=%s role=%s",
        verified.platform_id,
        record.user_id,
        record.context_pk,
        verified.message_type,
        role,
    )
    response = _landing_page(location, cookie is not None and not query, record.standing) or redirect(
        location, 303
    )
    secure = settings().session_cookie_secure
    response.delete_cookie(
        STATE_COOKIE_PREFIX + state, path="/lti/", secure=secure, samesite="None" if secure else "Lax"
    )
    return response


def _landing_page(location: str, cookies_work: bool, standing: LearnerStanding | None) -> Response | None:
    """A learner's launch answers with the progress page itself rather than a redirect to it: one request
    less for the user to wait for. Only where the session cookie carries on (a cookie-less session needs
    the token in every link, which the redirect's URL starts) and when the course is set up; else None
    and the launch redirects as the other roles' do."""
    if not cookies_work or location != LANDING[auth.LEARNER]:
        return None
    try:
        page = home_page(landed_at=location, standing=standing)
    except ServiceError:  # a course not set up yet, say: the page at the landing URL explains it
        return None
    return Response(page)


def _confirm_in_browser(pending: StateNotConfirmed, id_token: str, state: str):  # type: ignore[no-untyped-def]
    """The state cookie did not come back. With platform storage, a page reads the state back from it in
    this browser and posts the launch again with a check; without, a page offers the login again in a new
    window (first-party there, so the cookie works). Nothing is accepted until then."""
    log.info("event=launch_needs_confirmation storage=%s iss=%s", pending.storage, pending.login.issuer)
    login = pending.login
    login_fields = {
        "iss": login.issuer,
        "login_hint": login.login_hint,
        "target_link_uri": login.target_link_uri,
        "client_id": login.client_id,
    }
    if login.deployment_id:
        login_fields["lti_deployment_id"] = login.deployment_id
    if login.lti_message_hint:
        login_fields["lti_message_hint"] = login.lti_message_hint
    if pending.storage == "platform":
        data = {
            "target": request.form.get("lti_storage_target") or "_parent",
            "origin": pending.platform_origin,
            "state": state,
        }
        page = render_template(
            "lti/launch_check.html",
            data=data,
            id_token=id_token,
            state=state,
            check_field=STORAGE_CHECK_FIELD,
            check=storage_check(state),
            login_fields=login_fields,
        )
        return page, 200
    return render_template("lti/reopen.html", login_fields=login_fields), 401


@bp.get("/register")
def dynamic_registration():  # type: ignore[no-untyped-def]
    """Dynamic Registration, only under an operator's invite (``lti-tool platforms invite``)."""
    openid_configuration = request.args.get("openid_configuration", "")
    invite = request.args.get(INVITE_PARAM)
    if not invite:
        return error_response(
            403,
            "lti_registration_invite",
            "Registering a platform needs an invitation URL from this tool's operator "
            "(lti-tool platforms invite).",
        )
    if not openid_configuration:
        return error_response(400, "lti_registration_request", "Start the registration from your platform.")
    try:
        info = register(
            db(),
            _base_url(),
            openid_configuration,
            request.args.get("registration_token"),
            invite,
            development=settings().development,
        )
    except LtiRefused as exc:
        return _refused(exc, "registration_refused")
    return render_template("lti/registered.html", platform=info)


@bp.get("/config.json")
def canvas_config() -> Response:
    return jsonify(developer_key_config(_base_url()))
