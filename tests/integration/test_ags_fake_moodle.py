"""AGS against a Moodle-shaped platform served over real HTTP on 127.0.0.1.

``FakeMoodle`` answers the way the captured Moodle 4.5 does (shared/fixtures/moodle-4.5): JSON labelled
text/html from the token endpoint, line item URLs with ``?type_id=1``, the score media type enforced, an
empty 200 for a score, NRPS paging by ``Link`` header, ``resourceLinkId`` on line items, tokens that carry
only the scopes asked for (and allowed) and a 401 for a call outside them, DELETE of a line item. It is
stricter than Moodle where a tool's own test platform must be: the client assertion's signature, ``aud``,
``iss``==``sub`` and single-use ``jti``. The NRPS and placement tests import it from here.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask, Response, request
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from lti_tool.db import Database
from lti_tool.db.base import utcnow
from lti_tool.db.lti_service_models import AccessToken, LineItem
from lti_tool.db.models import Context, Deployment, OutboxMessage, Platform, User
from lti_tool.lti import ags
from lti_tool.lti.keys import public_jwks
from lti_tool.services import outbox

SCORE_MEDIA = "application/vnd.ims.lis.v1.score+json"
LINEITEM_MEDIA = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_MEDIA = "application/vnd.ims.lis.v2.lineitemcontainer+json"
NRPS_MEDIA = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
CLIENT_ID = "iiXngBUOLzenY6U"
FIXTURES = Path("/work/shared/fixtures/moodle-4.5")
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY = AGS + "lineitem", AGS + "lineitem.readonly"
SCOPE_RESULT_READONLY, SCOPE_SCORE = AGS + "result.readonly", AGS + "score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ALL_SCOPES = frozenset(
    {SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE, SCOPE_NRPS}
)


@dataclass
class FakeMoodle:
    """A Moodle-shaped platform; ``tool_jwks`` is read on every token request, like a real platform would."""

    tool_jwks: Any
    expires_in: int = 3600
    token_requests: int = 0
    token_refusals: list[str] = field(default_factory=list)
    seen_jtis: set[str] = field(default_factory=set)
    tokens: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict)
    allowed_scopes: frozenset[str] = ALL_SCOPES  # what the tool's registration lets it have
    scopes_requested: list[str] = field(default_factory=list)  # each token request's scope parameter
    line_items: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # line item URLs deleted
    lineitem_posts: int = 0
    container_gets: int = 0
    scores: list[dict[str, Any]] = field(default_factory=list)
    score_urls: list[str] = field(default_factory=list)
    throttle: list[tuple[int, str]] = field(default_factory=list)  # (status, Retry-After) for next scores
    members: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 0
    membership_pages_served: int = 0
    port: int = 0
    server: BaseWSGIServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- addresses, as Moodle names them -------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.base}/mod/lti/token.php"

    @property
    def lineitems_url(self) -> str:
        return f"{self.base}/mod/lti/services.php/2/lineitems?type_id=1"

    @property
    def memberships_url(self) -> str:
        return f"{self.base}/mod/lti/services.php/CourseSection/2/bindings/1/memberships"

    def lineitem_url(self, n: int) -> str:
        return f"{self.base}/mod/lti/services.php/2/lineitems/{n}/lineitem?type_id=1"

    # --- server lifecycle --------------------------------------------------------------------------
    def start(self) -> FakeMoodle:
        self.server = make_server("127.0.0.1", self.port, self.app(), threaded=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # --- the platform --------------------------------------------------------------------------------
    def _html_json(self, body: Any, status: int = 200) -> Response:
        # Moodle's token endpoint really does label its JSON text/html.
        return Response(json.dumps(body), status=status, content_type="text/html; charset=utf-8")

    def _authorized(self, *any_of: str) -> bool:
        """A live token that carries one of ``any_of`` (any scope when none is named)."""
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        expires, scopes = self.tokens.get(token, (0.0, frozenset()))
        return expires > time.time() and (not any_of or bool(scopes & set(any_of)))

    def item_number(self, item: dict[str, Any]) -> int:
        return int(str(item["id"]).split("/lineitems/")[1].split("/")[0])

    def item(self, n: int) -> dict[str, Any] | None:
        return next((i for i in self.line_items if self.item_number(i) == n), None)

    def _unauthorized(self) -> Response:
        return Response(
            json.dumps({"status": 401, "reason": "Unauthorized"}), 401, content_type="application/json"
        )

    def app(self) -> Flask:
        app = Flask("fake_moodle")

        @app.post("/mod/lti/token.php")
        def token() -> Response:
            with self.lock:
                self.token_requests += 1
            assertion = request.form.get("client_assertion", "")
            try:
                header = jwt.get_unverified_header(assertion)
                keys = {k["kid"]: k for k in self.tool_jwks()["keys"]}
                key = jwt.PyJWK(keys[header["kid"]]).key
                claims = jwt.decode(
                    assertion,
                    key,
                    algorithms=["RS256"],
                    audience=self.token_url,
                    options={"require": ["jti"]},
                )
            except (KeyError, jwt.PyJWTError) as exc:
                self.token_refusals.append(f"assertion: {exc}")
                return self._html_json({"error": "invalid_client"}, 401)
            if claims["iss"] != CLIENT_ID or claims["sub"] != CLIENT_ID:
                self.token_refusals.append("iss/sub")
                return self._html_json({"error": "invalid_client"}, 401)
            requested = request.form.get("scope", "")
            granted = frozenset(requested.split()) & self.allowed_scopes
            with self.lock:
                if claims["jti"] in self.seen_jtis:
                    self.token_refusals.append("jti replay")
                    return self._html_json({"error": "invalid_client"}, 401)
                self.seen_jtis.add(claims["jti"])
                self.scopes_requested.append(requested)
                if not granted:  # Moodle: a request with no scope it supports is refused
                    return self._html_json({"error": "invalid_scope"}, 400)
                access = uuid.uuid4().hex
                self.tokens[access] = (time.time() + self.expires_in, granted)
            if request.form.get("grant_type") != "client_credentials":
                return self._html_json({"error": "unsupported_grant_type"}, 400)
            return self._html_json(
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                    "scope": " ".join(sorted(granted)),
                }
            )

        @app.route("/mod/lti/services.php/2/lineitems", methods=["GET", "POST"])
        def lineitems() -> Response:
            if request.method == "POST" and not self._authorized(SCOPE_LINEITEM):
                return self._unauthorized()
            if not self._authorized(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY):
                return self._unauthorized()
            if request.args.get("type_id") != "1":
                return Response("missing type_id", 400)
            if request.method == "POST":
                if request.mimetype != LINEITEM_MEDIA:
                    return Response("No handler found", 400)
                body = request.get_json(force=True)
                with self.lock:
                    self.lineitem_posts += 1
                    n = len(self.line_items) + 10
                    item = {
                        "id": self.lineitem_url(n),
                        "label": body["label"],
                        "scoreMaximum": body["scoreMaximum"],
                        "resourceId": body.get("resourceId", ""),
                        "tag": body.get("tag", ""),
                    }
                    if body.get("resourceLinkId"):
                        item["resourceLinkId"] = item["ltiLinkId"] = body["resourceLinkId"]
                    self.line_items.append(item)
                return Response(json.dumps(item), 201, content_type=LINEITEM_MEDIA)
            if request.accept_mimetypes.best != CONTAINER_MEDIA:
                return Response("No handler found", 400)
            with self.lock:
                self.container_gets += 1
            # Moodle ignores the resource_id filter our tool sends: it returns everything, one per page here.
            page = int(request.args.get("from", "0"))
            chunk = self.line_items[page : page + 1]
            response = Response(json.dumps(chunk), 200, content_type=CONTAINER_MEDIA)
            if page + 1 < len(self.line_items):
                response.headers["Link"] = f'<{self.lineitems_url}&limit=1&from={page + 1}>; rel="next"'
            return response

        @app.delete("/mod/lti/services.php/2/lineitems/<int:n>/lineitem")
        def delete_lineitem(n: int) -> Response:
            if not self._authorized(SCOPE_LINEITEM):
                return self._unauthorized()
            with self.lock:
                item = self.item(n)
                if item is None:
                    return Response(json.dumps({"status": 404, "reason": "Not found"}), 404)
                self.line_items.remove(item)
                self.deleted.append(str(item["id"]))
            return Response("", 204)

        @app.post("/mod/lti/services.php/2/lineitems/<int:n>/lineitem/scores")
        def scores(n: int) -> Response:
            if not self._authorized(SCOPE_SCORE):
                return self._unauthorized()
            if request.mimetype != SCORE_MEDIA:
                return Response(json.dumps({"status": 400, "reason": "No handler found"}), 400)
            if self.item(n) is None:
                return Response(json.dumps({"status": 404, "reason": "Line item not found"}), 404)
            with self.lock:
                if self.throttle:
                    status, retry_after = self.throttle.pop(0)
                    return Response("slow down", status, headers={"Retry-After": retry_after})
                self.score_urls.append(request.url)
                self.scores.append({"lineitem": n, **request.get_json(force=True)})
            return Response("", 200, content_type=SCORE_MEDIA + "; charset=utf-8")

        @app.get("/mod/lti/services.php/CourseSection/2/bindings/1/memberships")
        def memberships() -> Response:
            if not self._authorized(SCOPE_NRPS):
                return self._unauthorized()
            if request.accept_mimetypes.best != NRPS_MEDIA:
                return Response("No handler found", 400)
            limit = self.page_size or len(self.members)
            start = int(request.args.get("from", "0"))
            with self.lock:
                self.membership_pages_served += 1
            body = {
                "id": self.memberships_url,
                "context": {"id": "2", "label": "LTICAP101", "title": "LTI Capture Course"},
                "members": self.members[start : start + limit],
            }
            response = Response(json.dumps(body), 200, content_type=NRPS_MEDIA + "; charset=utf-8")
            if start + limit < len(self.members):
                response.headers["Link"] = (
                    f'<{self.memberships_url}?limit={limit}&from={start + limit}>; rel="next"'
                )
            return response

        return app


@dataclass
class Course:
    context_id: int
    platform_id: int
    learner_id: int


def seed_course(db: Database, moodle: FakeMoodle) -> Course:
    with db.transaction() as session:
        platform = Platform(
            issuer=moodle.base,
            client_id=CLIENT_ID,
            name="Fake Moodle",
            auth_login_url=f"{moodle.base}/mod/lti/auth.php",
            auth_token_url=moodle.token_url,
            auth_token_audience=None,
            jwks_url=f"{moodle.base}/mod/lti/certs.php",
        )
        session.add(platform)
        session.flush()
        deployment = Deployment(platform_id=platform.id, deployment_id="1")
        session.add(deployment)
        session.flush()
        context = Context(
            deployment_id=deployment.id,
            context_id="2",
            title="LTI Capture Course",
            lineitems_url=moodle.lineitems_url,
            memberships_url=moodle.memberships_url,
        )
        learner = User(platform_id=platform.id, sub="4", name="Sam Student")
        session.add_all([context, learner])
        session.flush()
        return Course(context.id, platform.id, learner.id)


@pytest.fixture(autouse=True)
def _in_the_app(app):  # type: ignore[no-untyped-def]
    """Services called straight from these tests run in the app's context, as the worker runs them
    (development mode lets them reach the platform on http://127.0.0.1)."""
    with app.app_context():
        yield


@pytest.fixture
def moodle(db: Database):  # type: ignore[no-untyped-def]
    fake = FakeMoodle(tool_jwks=lambda: public_jwks(db)).start()
    # What Moodle already holds: the activity's own column, with Moodle's empty resourceId and tag.
    fake.line_items.append(
        {
            "id": fake.lineitem_url(2),
            "label": "Capture Activity",
            "scoreMaximum": 100,
            "resourceId": "",
            "tag": "",
        }
    )
    yield fake
    fake.stop()


def credential_message(course: Course, state: str, comment: str = "", key: str = "CRED-1") -> dict[str, Any]:
    return {
        "context_id": course.context_id,
        "user_id": course.learner_id,
        "course_key": "demo",
        "credential_key": key,
        "title": f"Credential {key}",
        "state": state,
        "comment": comment,
        "timestamp": utcnow().isoformat(),
    }


def send(db: Database, topic: str, payload: dict[str, Any]) -> None:
    with db.transaction() as session:
        outbox.enqueue(session, topic, payload)


# --- tests ------------------------------------------------------------------------------------------


def test_earned_credential_reaches_moodle_shaped_gradebook(db: Database, moodle: FakeMoodle) -> None:
    course = seed_course(db, moodle)
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned", "Clear evidence of practice."))

    result = outbox.drain(db)

    assert result.delivered == 1, outbox.pending(db)[0].last_error if outbox.pending(db) else result
    # The line item was created (Moodle's existing column has an empty resourceId and never matches).
    created = [i for i in moodle.line_items if i["resourceId"] == "credential:CRED-1"]
    assert len(created) == 1 and created[0]["tag"] == "credential" and created[0]["scoreMaximum"] == 1
    # /scores went into the path, ?type_id=1 stayed the query string.
    assert moodle.score_urls == [
        created[0]["id"].replace("/lineitem?type_id=1", "/lineitem/scores?type_id=1")
    ]
    score = moodle.scores[0]
    assert score["userId"] == "4"
    assert (score["scoreGiven"], score["scoreMaximum"]) == (1, 1)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    assert score["comment"] == "Clear evidence of practice."
    with db.read() as session:
        remembered = session.scalars(select(LineItem)).all()
    assert [(r.kind, r.key, r.lineitem_url) for r in remembered] == [
        ("credential", "CRED-1", created[0]["id"])
    ]


def test_states_and_stack_scores_reuse_line_items_and_token(db: Database, moodle: FakeMoodle) -> None:
    course = seed_course(db, moodle)
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "submitted"))
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "not_yet", "Add a classroom video."))
    send(
        db,
        ags.TOPIC_STACK,
        {
            "context_id": course.context_id,
            "user_id": course.learner_id,
            "course_key": "demo",
            "stack_key": "STACK-A",
            "title": "Stack A",
            "earned_count": 2,
            "required_count": 3,
            "granted": False,
            "ceus": None,
            "timestamp": utcnow().isoformat(),
        },
    )
    assert outbox.drain(db).delivered == 3

    submitted, not_yet, stack = moodle.scores
    assert (submitted["activityProgress"], submitted["gradingProgress"]) == ("Submitted", "PendingManual")
    assert "scoreGiven" not in submitted
    assert (not_yet["scoreGiven"], not_yet["activityProgress"], not_yet["gradingProgress"]) == (
        0,
        "InProgress",
        "FullyGraded",
    )
    assert not_yet["comment"] == "Add a classroom video."
    # A stack's progress is a number Moodle keeps: FullyGraded, InProgress until the stack is complete.
    assert (stack["scoreGiven"], stack["scoreMaximum"]) == (2, 3)
    assert (stack["gradingProgress"], stack["activityProgress"]) == ("FullyGraded", "InProgress")
    accepted = json.loads((FIXTURES / "ags-score-post.json").read_text())["request"]["body"]
    assert set(stack) - {"lineitem"} == set(accepted)  # the fields of the score Moodle 4.5 stored
    # One line item per credential and per stack, one token for all of it.
    assert sorted(i["resourceId"] for i in moodle.line_items) == ["", "credential:CRED-1", "stack:STACK-A"]
    assert moodle.token_requests == 1


def test_existing_line_item_found_by_resource_id_across_link_pages(db: Database, moodle: FakeMoodle) -> None:
    # A deep-linked placement already made the column (on the third page of the container).
    moodle.line_items.append(
        {
            "id": moodle.lineitem_url(3),
            "label": "Other",
            "scoreMaximum": 50,
            "resourceId": "dl-quiz-1",
            "tag": "quiz",
        }
    )
    moodle.line_items.append(
        {
            "id": moodle.lineitem_url(4),
            "label": "Credential CRED-1",
            "scoreMaximum": 1,
            "resourceId": "credential:CRED-1",
            "tag": "credential",
        }
    )
    course = seed_course(db, moodle)
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned"))
    assert outbox.drain(db).delivered == 1
    assert len(moodle.line_items) == 3  # nothing created
    assert moodle.score_urls == [
        f"{moodle.base}/mod/lti/services.php/2/lineitems/4/lineitem/scores?type_id=1"
    ]


def test_token_cached_until_expiry_then_refreshed_and_shared_by_workers(
    db: Database, moodle: FakeMoodle
) -> None:
    moodle.expires_in = 3600
    course = seed_course(db, moodle)
    for key in ("CRED-1", "CRED-2"):
        send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned", key=key))
    assert outbox.drain(db).delivered == 2
    assert moodle.token_requests == 1

    # Another worker process (its own engine and pool) shares the cached token through the table.
    other_worker = Database(db.url)
    try:
        send(other_worker, ags.TOPIC_CREDENTIAL, credential_message(course, "not_yet", key="CRED-1"))
        assert outbox.drain(other_worker).delivered == 1
    finally:
        other_worker.dispose()
    assert moodle.token_requests == 1

    # The token reaches the end of its life (minus the margin): the next score asks for a new one.
    with db.transaction() as session:
        for row in session.scalars(select(AccessToken)):
            row.expires_at = utcnow() - timedelta(seconds=1)
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned", key="CRED-2"))
    assert outbox.drain(db).delivered == 1
    assert moodle.token_requests == 2
    assert moodle.token_refusals == []
    with db.read() as session:
        row = session.scalars(select(AccessToken)).one()
    # Cached for expires_in minus the 60 s margin, never longer.
    assert timedelta(seconds=3400) < row.expires_at - utcnow() <= timedelta(seconds=3540)


def test_short_lived_token_expires_for_real(db: Database, moodle: FakeMoodle) -> None:
    moodle.expires_in = 2
    course = seed_course(db, moodle)
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "submitted"))
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned"))
    assert outbox.drain(db).delivered == 2
    assert moodle.token_requests == 1
    time.sleep(2.2)
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "not_yet"))
    assert outbox.drain(db).delivered == 1
    assert moodle.token_requests == 2


def test_429_with_retry_after_delays_and_the_score_arrives_later(db: Database, moodle: FakeMoodle) -> None:
    course = seed_course(db, moodle)
    moodle.throttle = [(429, "30")]
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned"))

    first = outbox.drain(db)
    assert (first.delivered, first.retried) == (0, 1)
    (message,) = outbox.pending(db)
    wait = message.available_at - utcnow()
    assert timedelta(seconds=25) < wait <= timedelta(seconds=30)
    assert moodle.scores == []
    assert outbox.drain(db).delivered == 0  # not due yet

    later = outbox.drain(db, now=utcnow() + timedelta(seconds=31))
    assert later.delivered == 1
    assert len(moodle.scores) == 1 and moodle.scores[0]["gradingProgress"] == "FullyGraded"


def test_503_with_http_date_retry_after(db: Database, moodle: FakeMoodle) -> None:
    course = seed_course(db, moodle)
    from email.utils import format_datetime

    moodle.throttle = [(503, format_datetime(utcnow() + timedelta(seconds=120), usegmt=True))]
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned"))
    assert outbox.drain(db).retried == 1
    (message,) = outbox.pending(db)
    assert timedelta(seconds=100) < message.available_at - utcnow() <= timedelta(seconds=121)
    assert outbox.drain(db, now=utcnow() + timedelta(seconds=122)).delivered == 1


def test_platform_down_keeps_the_score_pending_then_delivers(db: Database, moodle: FakeMoodle) -> None:
    course = seed_course(db, moodle)
    moodle.stop()  # connection refused from here on
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned", "Well done."))

    for minutes in (0, 1, 5):
        result = outbox.drain(db, now=utcnow() + timedelta(minutes=minutes))
        assert result.delivered == 0
    (message,) = outbox.pending(db)
    assert message.attempts >= 1 and "Connection" in (message.last_error or "")

    moodle.start()  # back on the same port
    result = outbox.drain(db, now=utcnow() + timedelta(hours=2))
    assert result.delivered == 1
    assert outbox.pending(db) == []
    assert moodle.scores[0]["comment"] == "Well done."
    with db.read() as session:
        delivered = session.scalars(select(OutboxMessage)).one()
    assert delivered.delivered_at is not None


def test_deleted_column_is_recreated(db: Database, moodle: FakeMoodle) -> None:
    course = seed_course(db, moodle)
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "submitted"))
    assert outbox.drain(db).delivered == 1
    # A teacher deletes the column: its URL now answers 404.
    with db.transaction() as session:
        row = session.scalars(select(LineItem)).one()
        row.lineitem_url = moodle.lineitem_url(99).replace("/2/lineitems/", "/2/gone/")
    moodle.line_items = [i for i in moodle.line_items if i["resourceId"] != "credential:CRED-1"]
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned"))
    assert outbox.drain(db).delivered == 1
    assert [i["resourceId"] for i in moodle.line_items].count("credential:CRED-1") == 1
    assert moodle.scores[-1]["scoreGiven"] == 1


def test_context_without_ags_delivers_nothing_and_drops_nothing_else(
    db: Database, moodle: FakeMoodle
) -> None:
    course = seed_course(db, moodle)
    with db.transaction() as session:
        context = session.get(Context, course.context_id)
        assert context is not None
        context.lineitems_url = None
    send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned"))
    assert outbox.drain(db).delivered == 1
    assert moodle.scores == [] and moodle.token_requests == 0
