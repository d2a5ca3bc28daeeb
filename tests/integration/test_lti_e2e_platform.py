"""End to end: the tool driven by an LTI platform somebody else wrote (PyPI ``lti1p3platform``).

Both sides are real HTTP servers on 127.0.0.1 and a ``requests`` session plays the browser (it follows
redirects and submits the auto-posting forms). The flow: Dynamic Registration -> OIDC login -> learner
launch -> deep linking (the designer picks a stack; the platform verifies the signed response) -> an NRPS
roster read by ``refresh_roster`` over three ``Link`` pages -> evidence, an assessor's decision and the AGS
scores the platform receives.

``lti1p3platform`` checks a client assertion's signature and expiry only; the token endpoint here adds the
``aud``, ``iss`` == ``sub`` and single-use ``jti`` checks. The wrapper also speaks AGS and NRPS as the
spec (and Moodle) do: JSON arrays with ``Link`` paging, the score media type enforced, ``?type_id`` on
line item URLs.
"""

from __future__ import annotations

import html
import json
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, redirect, request
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService, TPage
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.db.models import Context, Membership, User
from lti_tool.lti.invites import create_invite
from lti_tool.services import outbox
from lti_tool.services.course_maps import load_course_maps
from lti_tool.services.roster import refresh_roster
from tests import scenario
from tests.conftest import app_config
from tests.lti_platform_helpers import landed_path

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SCORE_MEDIA = "application/vnd.ims.lis.v1.score+json"
LINEITEM_MEDIA = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_MEDIA = "application/vnd.ims.lis.v2.lineitemcontainer+json"
NRPS_MEDIA = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
COURSE_ID = "course-101"
DL_DATA = "opaque-platform-data-7"

PEOPLE = {
    "u-learner": ("Lena Learner", ["Learner"]),
    "u-designer": ("Dara Designer", ["Instructor"]),
    "u-assessor": ("Asa Assessor", ["Instructor#TeachingAssistant"]),
    "u-learner-2": ("Lio Learner", ["Learner"]),
    "u-learner-3": ("Lux Learner", ["Learner"]),
}


def _roles(short: list[str]) -> list[str]:
    return [
        MEMBERSHIP + r if "#" not in r else "http://purl.imsglobal.org/vocab/lis/v2/membership/" + r
        for r in short
    ]


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """A WSGI app on a threaded werkzeug server on 127.0.0.1."""

    def __init__(self, app: Any, port: int = 0) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- lti1p3platform bound to Flask -------------------------------------------------------------------


class FlaskRequest(Request):
    def build_metadata(self, req: Any) -> TRequest:
        get_data: dict[str, Any] = req.args.to_dict()
        get_data.pop("type_id", None)  # Moodle-style context parameter, not a service filter
        for name in ("page", "limit"):
            if name in get_data:
                get_data[name] = int(get_data[name])
        return {
            "method": req.method,
            "form_data": req.form.to_dict(),
            "get_data": get_data,
            "headers": req.headers,
            "content_type": req.content_type,
            "path": req.path,
            "json": req.get_json(silent=True, force=True) if req.data else None,
        }


class PlatformConf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration  # type: ignore[no-any-return]


class OIDCLogin(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> Any:
        return redirect(url, 302)


class MessageLaunch(LTIAdvantageMessageLaunchAbstract):
    def __init__(self, req: Request, conf: PlatformConf, platform: LmsPlatform) -> None:
        super().__init__(req, conf)
        self.platform = platform

    def prepare_launch(self, preflight_response: dict[str, Any]) -> None:
        user_id = preflight_response["login_hint"]
        name, roles = PEOPLE[user_id]
        self.set_user_data(user_id, _roles(roles), full_name=name, email_address=f"{user_id}@lms.example")
        self.set_launch_context_claim(COURSE_ID, ["CourseSection"], "Inclusive Classrooms", "INC101")
        self.set_custom_parameters_claim({"course_map": self.platform.course_key})
        hint = str(preflight_response.get("lti_message_hint") or "")
        placed = self.platform.placements.get(hint)
        if placed is not None:
            # A placed activity: the deep-linked item's custom parameters, and its own column.
            self.set_custom_parameters_claim(placed["custom"])
            self.set_ags(self.platform.url("/ags/lineitems?type_id=1"), lineitem_url=placed.get("lineitem"))
        else:
            self.set_ags(self.platform.url("/ags/lineitems?type_id=1"))
        self.set_nrps(self.platform.url("/nrps/memberships?limit=2"))
        if placed is not None:
            self.set_resource_link_claim(hint, title=placed["title"])
        elif hint == "deep":
            self.set_dl(
                self.platform.url("/deep-link-return"),
                title="Add micro-credential content",
                accept_types={"ltiResourceLink"},
                extra_data=DL_DATA,  # type: ignore[arg-type]  # the spec's data is a string
            )
        else:
            self.set_resource_link_claim("link-1", title="Micro-credential Stacks")

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> Any:
        fields = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(str(launch_data[k]))}">'
            for k in ("id_token", "state")
        )
        return (
            f'<html><body onload="document.forms[0].submit()"><form method="post" '
            f'action="{html.escape(launch_data["launch_url"])}">{fields}</form></body></html>'
        )


class Gradebook(AssignmentsGradesService):
    def __init__(self, req: Request, conf: PlatformConf, platform: LmsPlatform) -> None:
        super().__init__(req, conf, platform.url("/ags/lineitems"))
        self.platform = platform

    def find_lineitems(self, page: int = 1, limit: int | None = None, **filters: Any) -> TPage:
        items = [
            i
            for i in self.platform.line_items.values()
            if not filters.get("resource_id") or i["resourceId"] == filters["resource_id"]
        ]
        return {"content": items, "has_next": False}

    def find_lineitem(self, line_item_id: str) -> Any:
        return self.platform.line_items[int(line_item_id)]

    def create_lineitem(self, creation_data: Any) -> Any:
        n = len(self.platform.line_items) + 1
        item = {
            "id": self.platform.url(f"/ags/lineitems/{n}/lineitem?type_id=1"),
            "label": creation_data["label"],
            "scoreMaximum": creation_data["scoreMaximum"],
            "resourceId": creation_data.get("resourceId", ""),
            "tag": creation_data.get("tag", ""),
            "resourceLinkId": creation_data.get("resourceLinkId", ""),
        }
        self.platform.line_items[n] = item
        return item

    def update_lineitem(self, update_data: Any) -> Any:
        raise NotImplementedError

    def delete_lineitem(self, line_item_id: str) -> None:
        raise NotImplementedError

    def update_score(self, line_item_id: str, score: Any) -> UpdateScoreStatus:
        self.platform.scores.append({"line_item": int(line_item_id), **score})
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id: str, page: int = 1, limit: int | None = None, **kw: Any) -> TPage:
        return {"content": [], "has_next": False}


class Roster(NamesRoleProvisioningService):
    def __init__(self, req: Request, conf: PlatformConf, platform: LmsPlatform) -> None:
        super().__init__(req, conf, platform.url("/nrps/memberships"))

    def get_member_data_page(self, page: int = 1, limit: int | None = None, **kw: Any) -> TPage:
        people = [
            {"user_id": sub, "name": name, "roles": roles, "email": f"{sub}@lms.example", "status": "Active"}
            for sub, (name, roles) in PEOPLE.items()
        ]
        size = limit or len(people)
        start = (page - 1) * size
        return {"content": people[start : start + size], "has_next": start + size < len(people)}

    def get_context_by_id(self) -> Any:
        from lti1p3platform.membership import Context as NrpsContext

        return NrpsContext(id=COURSE_ID, label="INC101", title="Inclusive Classrooms")


@dataclass
class LmsPlatform:
    """lti1p3platform behind real HTTP, with the token checks it lacks."""

    course_key: str
    private_pem: str = ""
    public_pem: str = ""
    registration: Registration | None = None
    registration_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    registrations_received: list[dict[str, Any]] = field(default_factory=list)
    deep_link_items: list[dict[str, Any]] = field(default_factory=list)
    placements: dict[str, dict[str, Any]] = field(default_factory=dict)  # resource link id -> placement
    deep_link_claims: dict[str, Any] = field(default_factory=dict)
    line_items: dict[int, dict[str, Any]] = field(default_factory=dict)
    scores: list[dict[str, Any]] = field(default_factory=list)
    score_content_types: list[str] = field(default_factory=list)
    token_requests: int = 0
    token_refusals: list[str] = field(default_factory=list)
    seen_jtis: set[str] = field(default_factory=set)
    nrps_pages: int = 0
    served: Served | None = None

    def __post_init__(self) -> None:
        self.private_pem, self.public_pem = _pem_pair()

    @property
    def issuer(self) -> str:
        assert self.served is not None
        return f"http://127.0.0.1:{self.served.port}"

    def url(self, path: str) -> str:
        return self.issuer + path

    def conf(self) -> PlatformConf:
        assert self.registration is not None, "the tool has not registered yet"
        return PlatformConf(registration=self.registration)

    def start(self) -> LmsPlatform:
        self.served = Served(self.app())
        return self

    def begin_launch(self, user: str, hint: str = "resource") -> str:
        return self.url(f"/launch?user={user}&hint={hint}")

    # --- the HTTP surface ---------------------------------------------------------------------------
    def app(self) -> Flask:
        app = Flask("lms")

        @app.get("/.well-known/openid-configuration")
        def openid_configuration() -> Any:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": self.url("/auth"),
                "token_endpoint": self.url("/token"),
                "jwks_uri": self.url("/jwks"),
                "registration_endpoint": self.url("/register"),
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "lti1p3platform",
                    "version": "0.1.8",
                },
            }

        @app.post("/register")
        def register() -> Any:
            if request.headers.get("Authorization") != f"Bearer {self.registration_token}":
                return {"error": "invalid_token"}, 401
            body = request.get_json(force=True)
            self.registrations_received.append(body)
            client_id = "client-" + uuid.uuid4().hex[:8]
            self.registration = (
                Registration()
                .set_iss(self.issuer)
                .set_client_id(client_id)
                .set_deployment_id("1")
                .set_oidc_login_url(body["initiate_login_uri"])
                .set_launch_url(body["redirect_uris"][0])
                .set_deeplink_launch_url(body["redirect_uris"][0])
                .set_tool_key_set_url(body["jwks_uri"])
                .set_platform_public_key(self.public_pem)
                .set_platform_private_key(self.private_pem)
            )
            tool_conf = dict(
                body["https://purl.imsglobal.org/spec/lti-tool-configuration"], deployment_id="1"
            )
            return {
                **body,
                "client_id": client_id,
                "https://purl.imsglobal.org/spec/lti-tool-configuration": tool_conf,
            }

        @app.get("/jwks")
        def jwks() -> Any:
            return self.conf().get_jwks()

        @app.get("/launch")
        def launch() -> Any:
            login = OIDCLogin(None, self.conf())
            login.set_lti_message_hint(hint=request.args["hint"])
            return login.initiate_login(request.args["user"])

        @app.get("/auth")
        def auth() -> Any:
            assert self.registration is not None
            if request.args.get("redirect_uri") != self.registration.get_launch_url():
                return "redirect_uri is not registered", 400
            return MessageLaunch(FlaskRequest(request), self.conf(), self).lti_launch()

        @app.post("/deep-link-return")
        def deep_link_return() -> Any:
            conf = self.conf()
            items = conf.validate_deeplinking_resp(request.form.to_dict())  # signature via the tool's JWKS
            claims = jwt.decode(request.form["JWT"], options={"verify_signature": False})
            assert self.registration is not None
            problems = []
            if claims.get("aud") != self.issuer:
                problems.append("aud")
            if claims.get("iss") != self.registration.get_client_id():
                problems.append("iss")
            if claims.get("https://purl.imsglobal.org/spec/lti/claim/deployment_id") != "1":
                problems.append("deployment_id")
            if problems:
                return f"refused: {problems}", 400
            self.deep_link_items = items
            self.deep_link_claims = claims
            # Like Moodle once the teacher saves: an activity per item, and a column for a graded one.
            for item in items:
                link_id = f"placed-{len(self.placements) + 1}"
                placement = {"title": item["title"], "custom": item.get("custom") or {}}
                if item.get("lineItem"):
                    n = len(self.line_items) + 1
                    placement["lineitem"] = self.url(f"/ags/lineitems/{n}/lineitem?type_id=1")
                    self.line_items[n] = {
                        "id": placement["lineitem"],
                        "label": item["title"],
                        "scoreMaximum": item["lineItem"]["scoreMaximum"],
                        "resourceId": item["lineItem"].get("resourceId", ""),
                        "tag": item["lineItem"].get("tag", ""),
                        "resourceLinkId": link_id,
                    }
                self.placements[link_id] = placement
            return "<p>Content saved</p>"

        @app.post("/token")
        def token() -> Any:
            self.token_requests += 1
            conf = self.conf()
            form = request.form.to_dict()
            try:
                answer = conf.get_access_token(form)  # signature + expiry (all lti1p3platform checks)
            except Exception as exc:
                self.token_refusals.append(repr(exc))
                return {"error": "invalid_client"}, 401
            claims = conf._jwt["body"]  # decoded by the call above
            client_id = self.registration.get_client_id() if self.registration else None
            refusal = None
            if claims.get("aud") not in (self.url("/token"), [self.url("/token")]):
                refusal = "aud"
            elif not (claims.get("iss") == claims.get("sub") == client_id):
                refusal = "iss/sub"
            elif not claims.get("jti") or claims["jti"] in self.seen_jtis:
                refusal = "jti"
            if refusal:
                self.token_refusals.append(refusal)
                return {"error": "invalid_client", "error_description": refusal}, 401
            self.seen_jtis.add(claims["jti"])
            # Like Moodle: JSON labelled text/html.
            return Response(json.dumps(answer), 200, content_type="text/html; charset=utf-8")

        def _answer(resp: Any, body: Any) -> Response:
            out = Response("" if body is None else json.dumps(body), resp.code, content_type=resp.media_type)
            return out

        @app.route("/ags/lineitems", methods=["GET", "POST"])
        def ags_lineitems() -> Any:
            service = Gradebook(FlaskRequest(request), self.conf(), self)
            if request.method == "POST":
                if request.mimetype != LINEITEM_MEDIA:
                    return "No handler found", 400
                resp = service.handle_resp(service.handle_create_lineitem)
                return _answer(resp, resp.result)
            if request.accept_mimetypes.best != CONTAINER_MEDIA:
                return "No handler found", 400
            resp = service.handle_resp(service.handle_get_lineitems)
            return _answer(resp, resp.result["content"] if resp.result else None)

        @app.post("/ags/lineitems/<int:n>/lineitem/scores")
        def ags_scores(n: int) -> Any:
            if request.mimetype != SCORE_MEDIA:
                return "No handler found", 400
            if request.args.get("type_id") != "1":
                return "type_id lost", 400
            self.score_content_types.append(request.content_type or "")
            service = Gradebook(FlaskRequest(request), self.conf(), self)
            resp = service.handle_resp(service.handle_update_score, line_item_id=str(n))
            return Response("", resp.code)

        @app.get("/nrps/memberships")
        def nrps() -> Any:
            if request.accept_mimetypes.best != NRPS_MEDIA:
                return "No handler found", 400
            self.nrps_pages += 1
            service = Roster(FlaskRequest(request), self.conf(), self)
            resp = service.handle_resp(service.handle_get_members)
            body = dict(resp.result or {})
            nxt = body.pop("next", None)
            out = _answer(resp, body if resp.result else None)
            if nxt:
                out.headers["Link"] = f'<{nxt}>; rel="next"'
            return out

        return app


# --- the browser --------------------------------------------------------------------------------------

FORM = re.compile(r'<form[^>]*method="post"[^>]*action="([^"]*)"[^>]*>(.*?)</form>', re.S | re.I)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', re.I)


def autopost(browser: requests.Session, page: requests.Response) -> requests.Response:
    """Submit the page's auto-posting form, as a browser's onload would."""
    match = FORM.search(page.text)
    assert match, page.text[:2000]
    action = html.unescape(match.group(1))
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(match.group(2))}
    return browser.post(action, data=fields)


@dataclass
class World:
    tool_url: str
    db: Database
    lms: LmsPlatform
    browser: requests.Session


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path) -> Iterator[World]:
    lms = LmsPlatform(course_key="").start()
    port = _free_port()
    tool_url = f"http://127.0.0.1:{port}"
    app = create_app(app_config(sqlite_url, tmp_path, BASE_URL=tool_url, OUTBOX_SYNC=True))
    db: Database = app.extensions["db"]
    lms.course_key = load_course_maps(db, [scenario.LEARNING_DIFFERENCES])[0].course_key
    tool = Served(app, port)
    try:
        # Services called straight from the test run as the worker and the CLI run them: in the app's context.
        with app.app_context():
            yield World(tool_url, db, lms, requests.Session())
    finally:
        tool.close()
        assert lms.served is not None
        lms.served.close()
        db.dispose()


def launch(world: World, user: str, hint: str = "resource") -> requests.Response:
    browser = requests.Session()  # each person has their own browser
    world.browser = browser
    login = browser.get(world.lms.begin_launch(user, hint))  # platform -> tool /lti/login -> platform /auth
    assert login.status_code == 200, login.text[:2000]
    assert urlsplit(login.url).path == "/auth"
    return autopost(browser, login)  # id_token form-posted to the tool's /lti/launch


def test_registration_launch_deep_linking_roster_and_gradebook(world: World) -> None:
    lms, db = world.lms, world.db

    # 1. Dynamic Registration, started by the platform's admin.
    page = world.browser.get(
        f"{world.tool_url}/lti/register",
        params={
            "openid_configuration": lms.url("/.well-known/openid-configuration"),
            "registration_token": lms.registration_token,
            "invite": create_invite(world.db).token,  # the operator opened registration
        },
    )
    assert page.status_code == 200, page.text[:2000]
    assert lms.registration is not None and lms.registrations_received
    assert lms.registrations_received[0]["jwks_uri"] == world.tool_url + "/lti/jwks.json"

    # 2. A learner launches and lands on their stack progress.
    learned = launch(world, "u-learner")
    assert learned.status_code == 200, learned.text[:2000]
    assert landed_path(learned.url, learned).startswith("/learn"), learned.url
    with db.read() as session:
        context = session.scalars(select(Context).where(Context.context_id == COURSE_ID)).one()
        learner = session.scalars(select(User).where(User.sub == "u-learner")).one()
    assert context.lineitems_url == lms.url("/ags/lineitems?type_id=1")
    assert context.memberships_url == lms.url("/nrps/memberships?limit=2")
    assert context.course_key == lms.course_key

    # 3. The designer adds a stack through deep linking.
    picker = launch(world, "u-designer", hint="deep")
    assert picker.status_code == 200, picker.text[:2000]
    assert urlsplit(picker.url).path == "/lti/deep-link"
    stack_values = re.findall(r'name="item" value="(stack:[^"]+)"', picker.text)
    assert stack_values and 'type="checkbox"' in picker.text  # lti1p3platform accepts multiple items
    form = FORM.search(picker.text)
    assert form
    fields = {n: html.unescape(v) for n, v in HIDDEN.findall(form.group(2))}
    answer = world.browser.post(
        world.tool_url + html.unescape(form.group(1)), data={**fields, "item": stack_values[0]}
    )
    assert answer.status_code == 200, answer.text[:2000]
    saved = autopost(world.browser, answer)  # the signed LtiDeepLinkingResponse, to the platform
    assert saved.status_code == 200 and "Content saved" in saved.text, saved.text
    (item,) = lms.deep_link_items
    stack_key = stack_values[0].split(":", 1)[1]
    assert item["type"] == "ltiResourceLink" and item["url"] == world.tool_url + "/lti/launch"
    assert item["custom"] == {"stack": stack_key, "course_map": lms.course_key}
    assert item["lineItem"]["resourceId"] == f"stack:{stack_key}" and item["lineItem"]["scoreMaximum"] >= 1
    assert lms.deep_link_claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == DL_DATA
    assert jwt.get_unverified_header(_jwt_of(answer))["kid"]  # signed with our active key, named by kid
    (placed_link,) = lms.placements
    placed_column = next(n for n, i in lms.line_items.items() if i["resourceLinkId"] == placed_link)

    # 3b. The learner opens the placed stack: its launch offers the activity's own column.
    opened = launch(world, "u-learner", hint=placed_link)
    assert opened.status_code == 200 and urlsplit(opened.url).path == f"/learn/stacks/{stack_key}", opened.url

    # 4. The roster, read over NRPS with Link paging (limit=2: three pages for five people).
    result = refresh_roster(db, context.id)
    assert (result.members, lms.nrps_pages) == (5, 3)
    with db.read() as session:
        subs = set(
            session.scalars(
                select(User.sub)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.context_id == context.id)
            )
        )
    assert subs == set(PEOPLE)

    # 5. The learner submits evidence; an assessor decides; the platform's gradebook receives it.
    with db.read() as session:
        assessor = session.scalars(select(User).where(User.sub == "u-assessor")).one()
    course = scenario.Course(db, context.id, context_id_platform(db, context.id), lms.course_key)
    credential_key = course.map().stack(stack_key).credential_ids[0]
    feedback = "Clear, well-evidenced practice."
    assert scenario.earn(course, learner.id, assessor.id, credential_key, feedback) is not None
    while outbox.drain(db).delivered:  # the placement's adoption writes further messages
        pass
    assert outbox.pending(db) == [], [m.last_error for m in outbox.pending(db)]

    by_resource = {i["resourceId"]: n for n, i in lms.line_items.items()}
    credential_scores = [
        s for s in lms.scores if s["line_item"] == by_resource[f"credential:{credential_key}"]
    ]
    assert [s["activityProgress"] for s in credential_scores] == ["Submitted", "Completed"]
    earned = credential_scores[-1]
    assert earned["userId"] == "u-learner"
    assert (earned["scoreGiven"], earned["scoreMaximum"], earned["gradingProgress"]) == (1, 1, "FullyGraded")
    assert earned["comment"] == "Clear, well-evidenced practice."
    # The placed stack's scores land in the activity's own column, as a number Moodle and Open edX keep.
    stack_scores = [s for s in lms.scores if s["line_item"] == placed_column]
    assert stack_scores and stack_scores[-1]["scoreGiven"] == 1
    assert stack_scores[-1]["gradingProgress"] == "FullyGraded"
    assert [i["resourceId"] for i in lms.line_items.values()].count(
        f"stack:{stack_key}"
    ) == 1  # no second one
    assert lms.line_items[by_resource[f"credential:{credential_key}"]]["resourceLinkId"] == ""  # not placed
    assert all(ct.startswith(SCORE_MEDIA) for ct in lms.score_content_types)
    # One token for the roster and one for the gradebook (different scopes), none refused.
    assert lms.token_refusals == [] and lms.token_requests == 2


def _jwt_of(page: requests.Response) -> str:
    match = re.search(r'name="JWT" value="([^"]+)"', page.text)
    assert match
    return html.unescape(match.group(1))


def context_id_platform(db: Database, context_pk: int) -> int:
    from lti_tool.services.gradebook import target_for

    with db.read() as session:
        user_id = session.scalars(
            select(Membership.user_id).where(Membership.context_id == context_pk)
        ).first()
    assert user_id is not None
    return target_for(db, context_pk, user_id).platform_id


def test_token_endpoint_refuses_replayed_jti_and_wrong_aud(world: World) -> None:
    """The stricter checks the wrapper adds to lti1p3platform, against assertions the tool's key signs."""
    from lti_tool.lti.keys import active_signing_key
    from lti_tool.lti.service_token import client_assertion

    lms = world.lms
    world.browser.get(
        f"{world.tool_url}/lti/register",
        params={
            "openid_configuration": lms.url("/.well-known/openid-configuration"),
            "registration_token": lms.registration_token,
            "invite": create_invite(world.db).token,  # the operator opened registration
        },
    )
    assert lms.registration is not None
    client_id = lms.registration.get_client_id()
    assert client_id
    kid, pem = active_signing_key(world.db)
    scope = "https://purl.imsglobal.org/spec/lti-ags/scope/score"

    def ask(assertion: str) -> requests.Response:
        return requests.post(
            lms.url("/token"),
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
                "scope": scope,
            },
        )

    good = client_assertion(client_id, lms.url("/token"), kid, pem)
    assert ask(good).status_code == 200
    assert ask(good).status_code == 401  # same jti again
    assert ask(client_assertion(client_id, "https://wrong.example/token", kid, pem)).status_code == 401
    assert lms.token_refusals == ["jti", "aud"]
