"""Gradebook columns where the platform expects them (issue 9), with real signed Moodle-shaped launches and
the Moodle-shaped AGS server of test_ags_fake_moodle.

- a resource-link launch records its placement: resource link id, the custom stack/credential it shows, the
  AGS claim's ``lineitem`` and scopes;
- a placed credential's or stack's scores go to the placement's offered line item; columns the tool creates
  carry ``resourceId``, ``tag`` and, when placed, the placement's ``resourceLinkId``;
- the token asks only for the scopes the claim lists; with score-only access nothing is created or looked
  up, and the designer page names the columns the tool cannot manage;
- when a credential the tool had made its own column for is placed, the placement's column is adopted,
  learners' states are sent again to it, and the old column is deleted (lineitem scope) or kept and listed;
- a stack's column shows credentials earned out of those needed, FullyGraded, as they are earned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.db import Database
from lti_tool.db.lti_service_models import LineItem, Placement, RetiredLineItem
from lti_tool.db.models import AuditEvent, Context, Membership, OutboxMessage, Platform, User
from lti_tool.lti import ags
from lti_tool.lti.keys import public_jwks
from lti_tool.services import gradebook, gradebook_overview, outbox
from lti_tool.services.course_maps import load_course_maps
from lti_tool.services.placements import TOPIC_PLACEMENT
from lti_tool.web.auth import ASSESSOR, DESIGNER, Actor
from tests import factories, scenario
from tests.integration.test_ags_fake_moodle import (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    FakeMoodle,
)
from tests.lti_platform_helpers import (
    INSTRUCTOR,
    LEARNER,
    TestPlatform,
    landing_of,
    login,
    lti_app,
    running_platform,
)

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
MOODLE_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE)
MAP = "learning-differences"
CRED = "ef-foundations-of-practice"
CRED_2 = "ef-empowering-your-learners"
STACK = "executive-function"


@dataclass
class World:
    app: Flask
    db: Database
    platform: TestPlatform
    moodle: FakeMoodle

    def launch(
        self,
        *,
        link_id: str = "1",
        custom: dict[str, str] | None = None,
        lineitem: str | None = None,
        scopes: tuple[str, ...] = MOODLE_SCOPES,
        role: str = LEARNER,
        sub: str = "4",
    ) -> Any:
        """A Moodle-shaped resource-link launch of placement ``link_id`` (its custom parameters and the
        AGS claim as Moodle sends them for an activity placed by deep linking)."""
        client = self.app.test_client()
        answer = login(client, self.platform, login_hint=sub)
        assert answer.status == 302, answer.body
        claims = self.platform.moodle_claims(answer.nonce, role=role, sub=sub)
        claims[LTI + "resource_link"] = {"id": link_id, "title": "Placed activity"}
        claims[LTI + "custom"] = {**claims[LTI + "custom"], "course_map": MAP, **(custom or {})}
        endpoint: dict[str, Any] = {"scope": list(scopes), "lineitems": self.moodle.lineitems_url}
        if lineitem:
            endpoint["lineitem"] = lineitem
        claims[AGS_CLAIM] = endpoint
        response = client.post(
            "/lti/launch", data={"id_token": self.platform.key.sign(claims), "state": answer.state}
        )
        assert landing_of(response) is not None, response.get_data(as_text=True)[:1000]
        return response

    def context_id(self) -> int:
        with self.db.read() as session:
            return session.scalars(select(Context.id).where(Context.context_id == "2")).one()

    def learner_id(self) -> int:
        with self.db.read() as session:
            return session.scalars(select(User.id).where(User.sub == "4")).one()

    def course(self) -> scenario.Course:
        with self.db.read() as session:
            platform_id = session.scalars(select(Platform.id)).one()
        return scenario.Course(self.db, self.context_id(), platform_id, MAP)

    def moodle_column(self, n: int, label: str, resource_id: str, link_id: str, maximum: int = 1) -> str:
        """A column Moodle made for an activity placed by deep linking (its lineItem's resourceId/tag)."""
        url = self.moodle.lineitem_url(n)
        self.moodle.line_items.append(
            {
                "id": url,
                "label": label,
                "scoreMaximum": maximum,
                "resourceId": resource_id,
                "tag": resource_id.split(":")[0],
                "resourceLinkId": link_id,
                "ltiLinkId": link_id,
            }
        )
        return url

    def services(self) -> Any:
        """The app's context for services called straight from a test, as the worker runs them. Not held
        across requests: a request inside it would share its ``g`` (the signed-in actor) with the next."""
        return self.app.app_context()

    def drain(self) -> None:
        with self.services():
            while outbox.drain(self.db).delivered:  # handlers may write further messages (adoption)
                pass
        stuck = outbox.pending(self.db)
        assert stuck == [], [(m.topic, m.last_error) for m in stuck]

    def send_credential(self, state: str, key: str = CRED, comment: str = "") -> None:
        with self.db.transaction() as session:
            outbox.enqueue(
                session,
                ags.TOPIC_CREDENTIAL,
                {
                    "context_id": self.context_id(),
                    "user_id": self.learner_id(),
                    "course_key": MAP,
                    "credential_key": key,
                    "title": key,
                    "state": state,
                    "comment": comment,
                    "timestamp": "2026-12-08T10:00:00+00:00",
                },
            )

    def scores_at(self, url: str) -> list[dict[str, Any]]:
        n = int(url.split("/lineitems/")[1].split("/")[0])
        return [s for s in self.moodle.scores if s["lineitem"] == n]

    def designer_page(self) -> str:
        with self.db.transaction() as session:
            user = User(platform_id=self.course().platform_id, sub="designer-9", name="Dara Designer")
            session.add(user)
            session.flush()
            session.add(Membership(context_id=self.context_id(), user_id=user.id, roles=[ASSESSOR, DESIGNER]))
            user_id = user.id
        client = self.app.test_client()
        factories.sign_in(
            client,
            Actor(
                user_id=user_id,
                platform_id=self.course().platform_id,
                deployment_id=1,
                context_id=self.context_id(),
                name="Dara Designer",
                roles=frozenset({DESIGNER, ASSESSOR}),
                course_key=MAP,
            ),
        )
        page = client.get("/design/")
        assert page.status_code == 200, page.get_data(as_text=True)[:1000]
        return page.get_data(as_text=True)


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_platform() as platform:
        app = lti_app(database_url, tmp_path)
        db: Database = app.extensions["db"]
        platform.register(db)
        moodle = FakeMoodle(tool_jwks=lambda: public_jwks(db)).start()
        # The platform's services answer on the Moodle-shaped server.
        with db.transaction() as session:
            session.scalars(select(Platform)).one().auth_token_url = moodle.token_url
        load_course_maps(db, [scenario.LEARNING_DIFFERENCES])
        try:
            yield World(app, db, platform, moodle)
        finally:
            moodle.stop()
            db.dispose()


def _placements(db: Database) -> list[Placement]:
    with db.read() as session:
        return list(session.scalars(select(Placement).order_by(Placement.id)))


def _placement_messages(db: Database) -> list[dict[str, Any]]:
    with db.read() as session:
        return [
            m.payload
            for m in session.scalars(select(OutboxMessage).where(OutboxMessage.topic == TOPIC_PLACEMENT))
        ]


# --- 1. placements ---------------------------------------------------------------------------------------


def test_a_resource_link_launch_records_its_placement_and_the_claims_scopes(world: World) -> None:
    column = world.moodle_column(3, "Foundations", f"credential:{CRED}", "7")
    world.launch(link_id="7", custom={"credential": CRED}, lineitem=column)

    (placement,) = _placements(world.db)
    assert (placement.resource_link_id, placement.target_kind, placement.target_key) == (
        "7",
        "credential",
        CRED,
    )
    assert placement.lineitem_url == column
    assert placement.ags_scopes == " ".join(sorted(MOODLE_SCOPES))
    with world.db.read() as session:
        context = session.scalars(select(Context)).one()
    assert context.ags_scopes == " ".join(sorted(MOODLE_SCOPES))
    assert _placement_messages(world.db) == [
        {"context_id": world.context_id(), "kind": "credential", "key": CRED}
    ]
    first_update = placement.updated_at

    # The same placement launched again (the teacher this time): nothing changes, nothing is written.
    world.launch(link_id="7", custom={"credential": CRED}, lineitem=column, role=INSTRUCTOR, sub="3")
    (again,) = _placements(world.db)
    assert again.updated_at == first_update and len(_placement_messages(world.db)) == 1

    # Moodle's own activity (no custom target, no deep-linked column) is a placement too, with no target.
    world.launch(link_id="1", lineitem=world.moodle.lineitem_url(2))
    assert [(p.resource_link_id, p.target_kind) for p in _placements(world.db)] == [
        ("7", "credential"),
        ("1", None),
    ]
    assert len(_placement_messages(world.db)) == 1  # a column for no credential or stack adopts nothing


# --- 2. scores to the placement's offered line item, with the claim's scopes only ------------------------


def test_placed_credential_scores_go_to_the_offered_lineitem_asking_only_offered_scopes(world: World) -> None:
    column = world.moodle_column(3, "Foundations", f"credential:{CRED}", "7")
    world.launch(link_id="7", custom={"credential": CRED}, lineitem=column)
    world.drain()  # the placement's adoption: nothing to retire, nothing to resend yet

    world.send_credential("submitted")
    world.send_credential("earned", comment="Clear evidence.")
    world.drain()

    assert [s["activityProgress"] for s in world.scores_at(column)] == ["Submitted", "Completed"]
    assert world.moodle.lineitem_posts == 0 and world.moodle.container_gets == 0  # nothing created or sought
    # Moodle's claim lists four scopes; the tool asks for the two it uses, in one token.
    assert world.moodle.scopes_requested == [f"{SCOPE_LINEITEM} {SCOPE_SCORE}"]
    with world.db.read() as session:
        assert session.scalars(select(LineItem)).all() == []  # no column of the tool's own


def test_columns_the_tool_creates_carry_resource_id_tag_and_the_placements_resource_link(
    world: World,
) -> None:
    # The stack is placed as an activity Moodle made no column for (no lineitem in the claim).
    world.launch(link_id="8", custom={"stack": STACK})
    with world.db.transaction() as session:
        outbox.enqueue(
            session,
            ags.TOPIC_STACK,
            gradebook.stack_payload(
                world.context_id(), world.learner_id(), MAP, STACK, "Executive Function", 1, 5
            ),
        )
    world.send_credential("submitted", key=CRED_2)  # placed nowhere
    world.drain()

    created = {i["resourceId"]: i for i in world.moodle.line_items if i["resourceId"]}
    assert created[f"stack:{STACK}"]["resourceLinkId"] == "8" and created[f"stack:{STACK}"]["tag"] == "stack"
    assert created[f"stack:{STACK}"]["scoreMaximum"] == 5
    assert "resourceLinkId" not in created[f"credential:{CRED_2}"]
    assert created[f"credential:{CRED_2}"]["tag"] == "credential"
    with world.db.read() as session:
        own = {(r.kind, r.key): r for r in session.scalars(select(LineItem))}
    assert (
        own[("stack", STACK)].created_by_tool
        and own[("stack", STACK)].lineitem_url == created[f"stack:{STACK}"]["id"]
    )


# --- 2b. score-only access --------------------------------------------------------------------------------


def test_score_only_access_scores_placed_columns_creates_nothing_and_the_designer_page_says_so(
    world: World,
) -> None:
    world.moodle.allowed_scopes = frozenset({SCOPE_SCORE})
    column = world.moodle_column(3, "Foundations", f"credential:{CRED}", "7")
    world.launch(link_id="7", custom={"credential": CRED}, lineitem=column, scopes=(SCOPE_SCORE,))

    world.send_credential("earned")
    world.send_credential("earned", key=CRED_2)  # not placed: no column the tool may use
    world.drain()

    assert [s["gradingProgress"] for s in world.scores_at(column)] == ["FullyGraded"]
    assert len(world.moodle.scores) == 1
    assert world.moodle.lineitem_posts == 0 and world.moodle.container_gets == 0
    assert world.moodle.scopes_requested == [SCOPE_SCORE]

    overview = gradebook_overview.columns_overview(world.db, world.context_id())
    assert overview.offered and not overview.can_manage
    unmanaged = {(c.kind, c.key) for c in overview.cannot_manage}
    assert ("credential", CRED_2) in unmanaged and ("stack", STACK) in unmanaged
    assert ("credential", CRED) not in unmanaged
    page = world.designer_page()
    assert 'data-section="gradebook"' in page and "score-only access" in page
    assert f'data-column="credential:{CRED_2}"' in page and f'data-column="credential:{CRED}"' not in page


# --- 3. one credential, one column ---------------------------------------------------------------------


def test_placing_a_credential_adopts_its_column_resends_states_and_deletes_the_old_one(world: World) -> None:
    world.launch()  # the learner opens Moodle's activity; the course follows the map
    course, learner = world.course(), world.learner_id()
    assessor = course.person("Asa Assessor", scenario.ASSESSOR)
    with world.services():
        scenario.earn(course, learner, assessor, CRED)
    world.drain()
    (own,) = [i for i in world.moodle.line_items if i["resourceId"] == f"credential:{CRED}"]
    assert [s["activityProgress"] for s in world.scores_at(own["id"])] == ["Submitted", "Completed"]

    # The teacher places the credential: Moodle adds the activity's column, the next launch offers it.
    placed = world.moodle_column(3, "Foundations of Practice", f"credential:{CRED}", "9")
    world.launch(link_id="9", custom={"credential": CRED}, lineitem=placed, role=INSTRUCTOR, sub="3")
    world.drain()

    # The learner's earned credential is in the placement's column; the tool's own column is gone.
    resent = world.scores_at(placed)
    assert [(s["userId"], s["scoreGiven"], s["gradingProgress"]) for s in resent] == [("4", 1, "FullyGraded")]
    assert world.moodle.deleted == [own["id"]]
    with world.db.read() as session:
        assert session.scalars(select(LineItem).where(LineItem.key == CRED)).all() == []
        retired = session.scalars(select(RetiredLineItem)).one()
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert retired.lineitem_url == own["id"] and retired.deleted_at is not None
    assert "gradebook.column_adopted" in actions and "gradebook.column_deleted" in actions

    # From then on, only the placement's column gets the credential's scores.
    before = len(world.scores_at(own["id"]))
    world.send_credential("earned", comment="Confirmed.")
    world.drain()
    assert len(world.scores_at(own["id"])) == before
    assert world.scores_at(placed)[-1]["comment"] == "Confirmed."
    assert gradebook_overview.columns_overview(world.db, world.context_id()).left_behind == []


def test_without_lineitem_scope_the_old_column_stays_and_the_designer_page_lists_it(world: World) -> None:
    world.launch()
    course = world.course()
    with world.services():
        scenario.earn(course, world.learner_id(), course.person("Asa Assessor", scenario.ASSESSOR), CRED)
    world.drain()
    (own,) = [i for i in world.moodle.line_items if i["resourceId"] == f"credential:{CRED}"]

    # The administrator narrows the tool to scores; the teacher then places the credential.
    world.moodle.allowed_scopes = frozenset({SCOPE_SCORE})
    placed = world.moodle_column(3, "Foundations of Practice", f"credential:{CRED}", "9")
    world.launch(link_id="9", custom={"credential": CRED}, lineitem=placed, scopes=(SCOPE_SCORE,))
    world.drain()

    assert world.moodle.deleted == [] and any(i["id"] == own["id"] for i in world.moodle.line_items)
    assert [s["scoreGiven"] for s in world.scores_at(placed)] == [1]  # the new column is scored anyway
    (left,) = gradebook_overview.columns_overview(world.db, world.context_id()).left_behind
    assert left.lineitem_url == own["id"] and "cannot delete" in left.note
    page = world.designer_page()
    assert f'data-retired="credential:{CRED}"' in page and "delete it in the gradebook" in page


# --- 4. a stack's progress as a number -------------------------------------------------------------


def test_a_placed_stacks_column_counts_credentials_as_they_are_earned(world: World) -> None:
    column = world.moodle_column(4, "Executive Function", f"stack:{STACK}", "5", maximum=5)
    world.launch(link_id="5", custom={"stack": STACK}, lineitem=column)
    world.drain()  # the placement's column becomes the stack's (nobody has progress to send yet)
    course, learner = world.course(), world.learner_id()
    assessor = course.person("Asa Assessor", scenario.ASSESSOR)
    credentials = course.map().stack(STACK).credential_ids
    for key in credentials:
        with world.services():
            scenario.earn(course, learner, assessor, key)
        world.drain()

    stack_scores = world.scores_at(column)
    assert [s["scoreGiven"] for s in stack_scores] == [1, 2, 3, 4, 5]
    assert {s["scoreMaximum"] for s in stack_scores} == {5}
    assert {s["gradingProgress"] for s in stack_scores} == {"FullyGraded"}  # Moodle keeps every one
    assert [s["activityProgress"] for s in stack_scores] == ["InProgress"] * 4 + ["Completed"]
    assert "CEUs granted" in stack_scores[-1]["comment"]


def test_a_deleted_placement_column_falls_back_to_a_column_bound_to_the_placement(world: World) -> None:
    gone = world.moodle.lineitem_url(40)  # the teacher deleted the activity's grade item: 404
    world.launch(link_id="7", custom={"credential": CRED}, lineitem=gone)
    world.drain()
    world.send_credential("earned")
    world.drain()

    (made,) = [i for i in world.moodle.line_items if i["resourceId"] == f"credential:{CRED}"]
    assert made["resourceLinkId"] == "7"
    assert [s["scoreGiven"] for s in world.scores_at(made["id"])] == [1]
    assert _placements(world.db)[0].lineitem_url is None


def test_a_credential_placed_without_a_grade_column_gets_none_from_the_tool(world: World) -> None:
    """The picker's default places a stack graded and its credentials ungraded (custom gradebook=none, no
    lineItem): the stack's column counts the credentials, and the tool makes no second column for them."""
    from lti_tool.web.deep_linking import Choice, content_item

    choice = Choice(f"credential:{CRED}", "credential", CRED, "Foundations", "", 1)
    ungraded = content_item(choice, MAP, "http://tool.test/lti/launch", graded=False)
    assert "lineItem" not in ungraded and ungraded["custom"]["gradebook"] == "none"
    column = world.moodle_column(4, "Executive Function", f"stack:{STACK}", "5", maximum=5)
    world.launch(link_id="5", custom={"stack": STACK}, lineitem=column)
    world.launch(link_id="6", custom=ungraded["custom"])  # Moodle offers no lineitem for it
    world.drain()
    assert {(p.resource_link_id, p.graded) for p in _placements(world.db)} == {("5", True), ("6", False)}

    course, learner = world.course(), world.learner_id()
    assessor = course.person("Asa Assessor", scenario.ASSESSOR)
    with world.services():
        scenario.earn(course, learner, assessor, CRED)
    world.drain()
    assert [i for i in world.moodle.line_items if i["resourceId"] == f"credential:{CRED}"] == []
    assert [s["scoreGiven"] for s in world.scores_at(column)] == [1]  # the stack's column counts it once
    with world.db.read() as session:
        assert session.scalars(select(LineItem).where(LineItem.key == CRED)).all() == []
