"""Errors users can act on: JSON with a stable code for API clients, a page for people.

The page speaks to people: a title in plain words (by the error's code, else by its HTTP status), the
message, and a way back (the tool's page they came from, the signed-in person's own start page in the
course, or how to open the tool again); the stable code and the status stay visible in small print.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger("lti_tool.web")


def wants_json() -> bool:
    """JSON only for API clients: an ``/api/`` path, a JSON body, or an Accept header that names
    ``application/json`` explicitly and ranks it above HTML. A browser, an LMS dialog, or a client that
    sends no Accept header (or only ``*/*``) gets a page: nobody should read a JSON error in a frame."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    explicit = {value.lower(): quality for value, quality in request.accept_mimetypes}
    json_quality = explicit.get("application/json", 0)
    return json_quality > 0 and json_quality > explicit.get("text/html", 0)


# Titles for errors people meet often, by code; every other error is titled by its status.
CODE_TITLES = {
    "course_not_configured": "This course is not set up yet",
    "not_an_editor": "Only the course's editors can do that",
    "role_required": "You can't do that here",
    "upload_too_large": "That file is too large",
    "evidence_incomplete": "Some evidence is still missing",
    "lti_replay": "This launch was already used",
    "lti_registration_invite": "Registering needs an invitation",
}
STATUS_TITLES = {
    400: "Something in that request needs fixing",
    401: "Please open this tool from your course",
    403: "You can't do that here",
    404: "We couldn't find that",
    405: "That can't be done this way",
    409: "That changed in the meantime",
    413: "That file is too large",
    415: "That kind of file can't be used here",
    422: "Something is missing",
    429: "Too many tries: wait a moment",
    500: "Something went wrong on our side",
    502: "The LMS did not answer as expected",
    503: "The tool is not available right now",
}


def error_title(status: int, code: str) -> str:
    if code in CODE_TITLES:
        return CODE_TITLES[code]
    return STATUS_TITLES.get(status) or STATUS_TITLES[500 if status >= 500 else 400]


def _previous_page() -> str | None:
    """The tool's page the person came from (the Referer, same origin only), unless it is this very page
    (it would fail again), a launch or an API call: the first way back from an error."""
    referrer = request.referrer
    if not referrer:
        return None
    came_from, here = urlsplit(referrer), urlsplit(request.host_url)
    if (came_from.scheme, came_from.netloc) != (here.scheme, here.netloc):
        return None
    if came_from.path.startswith(("/lti/", "/api/")):
        return None
    if request.method == "GET" and came_from.path == request.path:
        return None
    return urlunsplit(("", "", came_from.path or "/", came_from.query, ""))


def _home_page() -> str | None:
    """The signed-in person's start page in the course (by their role); None when nobody is signed in."""
    from ..lti.roles import landing_role
    from .auth import ASSESSOR, DESIGNER, LEARNER, current_actor_or_none, url

    try:
        actor = current_actor_or_none()
        role = landing_role(actor.roles) if actor is not None else None
        endpoint = {DESIGNER: "designer.dashboard", ASSESSOR: "assessor.queue", LEARNER: "learner.home"}
        return url(endpoint[role]) if role else None
    except Exception:  # an error page never fails for want of a way back (e.g. the database is down)
        return None


def _way_back() -> tuple[list[tuple[str, str]], bool]:
    """(link, label) pairs, never none for a signed-in person: the page they came from in the tool, then
    their start page in the course. Nobody signed in and no page to return to: the page says how to open
    the tool again, and links to what it is. Also says whether someone is signed in."""
    links: list[tuple[str, str]] = []
    previous, home = _previous_page(), _home_page()
    if previous and (home is None or urlsplit(previous).path != urlsplit(home).path):
        links.append((previous, "Back to the previous page"))
    if home:
        links.append((home, "Back to the course page"))
    return links, home is not None


def error_response(status: int, code: str, message: str):  # type: ignore[no-untyped-def]
    if wants_json():
        return jsonify({"error": {"code": code, "message": message}}), status
    back, signed_in = _way_back()
    page = render_template(
        "error.html",
        status=status,
        code=code,
        title=error_title(status, code),
        message=message,
        back=back,
        signed_in=signed_in,
    )
    return page, status


def register(app: Flask) -> None:
    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge):  # type: ignore[no-untyped-def]
        limit_mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        log.info("event=upload_refused reason=too_large limit_mb=%s path=%s", limit_mb, request.path)
        return error_response(
            413, "upload_too_large", f"That upload is larger than the {limit_mb} MB limit. Nothing was saved."
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        return error_response(
            exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or ""
        )
