"""Teachers and designers are different people (issue 9; docs/decisions/0005-editing-and-teaching-roles.md).

Real signed Moodle 4.5-shaped launches (no custom parameters, as Dynamic Registration leaves them): Moodle
sends editing and non-editing teachers alike as ``membership#Instructor``. A plain Instructor assesses and
sees the dashboard read-only; an Instructor's Deep Linking request ("Select content", which Moodle offers
only to editing teachers) puts them on the course's editors list; editors add and remove other teachers;
every change is audited, and Membership.roles follows so the per-request session check sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool.db import Database
from lti_tool.db.models import Context, CourseEditor, Membership, User
from lti_tool.services import audit
from lti_tool.services.roster import RosterMember, apply_roster
from lti_tool.web import auth
from tests import factories
from tests.lti_platform_helpers import (
    INSTRUCTOR,
    LTI,
    TEACHING_ASSISTANT,
    TestPlatform,
    launch,
    lti_app,
)

LD_KEY = "learning-differences"
EDITOR_SUB = "3"  # Moodle's deep-linking fixture: Tessa Teacher, an editing teacher
COLLEAGUE_SUB = "8"


@pytest.fixture
def lti(database_url: str, tmp_path: Path, platform: TestPlatform) -> Iterator[Any]:
    application = lti_app(database_url, tmp_path)
    platform.register(application.extensions["db"])
    factories.load_shipped_map(application.extensions["db"])
    yield application
    application.extensions["db"].dispose()


def _teacher_launch(client: Any, platform: TestPlatform, sub: str, name: str = "Tessa Teacher") -> Any:
    claims = platform.moodle_claims("<nonce>", role=INSTRUCTOR, sub=sub, name=name)
    return launch(client, platform, claims)


def _deep_linking_launch(client: Any, platform: TestPlatform, sub: str = EDITOR_SUB, **extra: Any) -> Any:
    claims = platform.moodle_deep_linking_claims("<nonce>", sub=sub, **extra)
    return launch(client, platform, claims)


def _actor_roles(client: Any) -> list[str]:
    with client.session_transaction() as session:
        return list(session["actor"]["roles"])


def _user_id(db: Database, sub: str) -> int:
    with db.read() as session:
        return int(session.scalars(select(User.id).where(User.sub == sub)).one())


def _membership_roles(db: Database, sub: str) -> list[str]:
    with db.read() as session:
        roles = session.scalars(
            select(Membership.roles).join(User, User.id == Membership.user_id).where(User.sub == sub)
        ).one()
    return list(roles)


def _context(db: Database) -> Context:
    with db.read() as session:
        return session.scalars(select(Context)).one()


def _context_actions(db: Database) -> list[tuple[str, dict[str, Any]]]:
    return [(e.action, dict(e.data)) for e in audit.events_for(db, "context", _context(db).id)]


def test_a_non_editing_teacher_assesses_and_cannot_change_the_course(
    lti: Any, platform: TestPlatform
) -> None:
    db: Database = lti.extensions["db"]
    teacher = lti.test_client()
    response = _teacher_launch(teacher, platform, COLLEAGUE_SUB, name="Noel Noneditor")
    assert response.status_code == 303 and response.headers["Location"] == "/assess/"
    assert _actor_roles(teacher) == ["assessor"]
    assert _membership_roles(db, COLLEAGUE_SUB) == ["assessor"]

    # the dashboard, read-only: no course-map or editors form
    dashboard = teacher.get("/design/")
    page = dashboard.get_data(as_text=True)
    assert dashboard.status_code == 200 and "data-read-only" in page
    assert 'action="/design/course-map"' not in page and 'action="/design/editors"' not in page

    refused = teacher.post("/design/course-map", data={"course_key": LD_KEY})
    assert refused.status_code == 403
    text = refused.get_data(as_text=True)
    assert "Only the course&#39;s editors can do that" in text and "<code>not_an_editor</code>" in text
    as_json = teacher.post(
        "/design/course-map", data={"course_key": LD_KEY}, headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 403 and as_json.json["error"]["code"] == "not_an_editor"
    own_id = _user_id(db, COLLEAGUE_SUB)
    assert teacher.post("/design/editors", data={"user_id": str(own_id)}).status_code == 403
    assert teacher.post(f"/design/editors/{own_id}/remove").status_code == 403

    assert _context(db).course_key is None  # nothing changed, nothing audited
    assert _context_actions(db) == []
    with db.read() as session:
        assert session.scalars(select(CourseEditor)).all() == []


def test_an_instructors_deep_linking_launch_makes_them_an_editor(lti: Any, platform: TestPlatform) -> None:
    db: Database = lti.extensions["db"]
    picker = lti.test_client()
    response = _deep_linking_launch(picker, platform)
    assert response.status_code == 303 and response.headers["Location"].startswith("/lti/deep-link")
    assert _actor_roles(picker) == ["assessor", "designer"]
    assert _membership_roles(db, EDITOR_SUB) == ["assessor", "designer"]
    editor_id = _user_id(db, EDITOR_SUB)
    with db.read() as session:
        row = session.scalars(select(CourseEditor)).one()
        assert (row.user_id, row.source, row.removed_at) == (editor_id, "deep_linking", None)
    assert _context_actions(db) == [
        ("context.editor_added", {"user_id": editor_id, "source": "deep_linking"})
    ]

    # their next launch from an activity lands on the designer page, where they choose the map
    editor = lti.test_client()
    again = _teacher_launch(editor, platform, EDITOR_SUB)
    assert again.status_code == 303 and again.headers["Location"] == "/design/"
    bound = editor.post("/design/course-map", data={"course_key": LD_KEY})
    assert bound.status_code == 303
    assert _context(db).course_key == LD_KEY
    actions = [action for action, _ in _context_actions(db)]
    assert actions == ["context.editor_added", "context.course_map_bound"]

    # a second "Select content" neither lists them twice nor audits again
    assert _deep_linking_launch(lti.test_client(), platform).status_code == 303
    with db.read() as session:
        assert len(session.scalars(select(CourseEditor)).all()) == 1
    assert [action for action, _ in _context_actions(db)].count("context.editor_added") == 1


def test_a_teaching_assistants_deep_linking_launch_is_not_an_editing_signal(
    lti: Any, platform: TestPlatform
) -> None:
    db: Database = lti.extensions["db"]
    client = lti.test_client()
    response = _deep_linking_launch(client, platform, sub="9", **{LTI + "roles": [TEACHING_ASSISTANT]})
    assert response.status_code == 303
    assert _actor_roles(client) == ["assessor"]
    with db.read() as session:
        assert session.scalars(select(CourseEditor)).all() == []
    picker = client.get("/lti/deep-link", headers={"Accept": "application/json"})
    assert picker.status_code == 403 and picker.json["error"]["code"] == "not_an_editor"


def test_editors_add_and_remove_teachers_and_every_change_is_audited(
    lti: Any, platform: TestPlatform
) -> None:
    db: Database = lti.extensions["db"]
    editor = lti.test_client()
    assert _deep_linking_launch(editor, platform).status_code == 303
    colleague = lti.test_client()
    assert (
        _teacher_launch(colleague, platform, COLLEAGUE_SUB, "Cole Colleague").headers["Location"]
        == "/assess/"
    )
    editor_id, colleague_id = _user_id(db, EDITOR_SUB), _user_id(db, COLLEAGUE_SUB)

    page = editor.get("/design/").get_data(as_text=True)
    assert f'<option value="{colleague_id}">Cole Colleague' in page  # a teacher the editor may add

    added = editor.post("/design/editors", data={"user_id": str(colleague_id)})
    assert added.status_code == 303
    assert added.headers["Location"] == f"/design/?notice=editor_added&user={colleague_id}"
    notice = editor.get(added.headers["Location"]).get_data(as_text=True)
    assert "Cole Colleague is now an editor of this course" in notice
    assert _membership_roles(db, COLLEAGUE_SUB) == ["assessor", "designer"]
    assert colleague.get("/assess/").status_code == 200  # the open session (fewer roles) still works
    designing = lti.test_client()
    assert (
        _teacher_launch(designing, platform, COLLEAGUE_SUB, "Cole Colleague").headers["Location"]
        == "/design/"
    )

    removed = editor.post(f"/design/editors/{colleague_id}/remove")
    assert removed.status_code == 303
    assert "is no longer an editor" in editor.get(removed.headers["Location"]).get_data(as_text=True)
    assert _membership_roles(db, COLLEAGUE_SUB) == ["assessor"]
    assert designing.get("/design/").status_code == 401  # their session as a designer ended
    assert colleague.get("/assess/").status_code == 200  # as a teacher they keep reviewing

    # removed stays removed: their own "Select content" does not put them back
    picker = lti.test_client()
    assert _deep_linking_launch(picker, platform, sub=COLLEAGUE_SUB).status_code == 303
    assert _actor_roles(picker) == ["assessor"]
    assert picker.get("/lti/deep-link").status_code == 403

    assert _context_actions(db) == [
        ("context.editor_added", {"user_id": editor_id, "source": "deep_linking"}),
        ("context.editor_added", {"user_id": colleague_id, "name": "Cole Colleague", "source": "added"}),
        ("context.editor_removed", {"user_id": colleague_id, "name": "Cole Colleague"}),
    ]
    events = audit.events_for(db, "context", _context(db).id)
    assert [e.actor_user_id for e in events] == [editor_id, editor_id, editor_id]

    # an editor cannot take themselves off the list, nor make a learner an editor
    own = editor.post(f"/design/editors/{editor_id}/remove")
    assert own.status_code == 400
    assert "You cannot take yourself off the editors list" in own.get_data(as_text=True)
    learner = lti.test_client()
    assert launch(learner, platform).headers["Location"] == "/learn/"
    refused = editor.post("/design/editors", data={"user_id": str(_user_id(db, "4"))})
    assert refused.status_code == 404
    assert "Only a teacher of this course can be an editor" in refused.get_data(as_text=True)
    assert _membership_roles(db, "4") == ["learner"]
    assert len(audit.events_for(db, "context", _context(db).id)) == 3


def test_the_roster_keeps_listed_editors_designers(lti: Any, platform: TestPlatform) -> None:
    db: Database = lti.extensions["db"]
    assert _deep_linking_launch(lti.test_client(), platform).status_code == 303
    context = _context(db)
    members = [
        RosterMember(EDITOR_SUB, ("assessor",), name="Tessa Teacher"),
        RosterMember(COLLEAGUE_SUB, ("assessor",), name="Cole Colleague"),
    ]
    apply_roster(db, context.id, platform_id=_platform_id(db), members=members)
    assert _membership_roles(db, EDITOR_SUB) == ["assessor", "designer"]
    assert _membership_roles(db, COLLEAGUE_SUB) == ["assessor"]
    # an editor the LMS turned into a learner no longer designs
    apply_roster(db, context.id, _platform_id(db), [RosterMember(EDITOR_SUB, ("learner",), name="Tessa")])
    assert _membership_roles(db, EDITOR_SUB) == ["learner"]


def _platform_id(db: Database) -> int:
    with db.read() as session:
        return int(session.scalars(select(User.platform_id).where(User.sub == EDITOR_SUB)).one())


def test_editor_forms_redirect_and_keep_the_cookieless_token(sqlite_app: Any) -> None:
    db: Database = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    designer = course.designer()
    teacher = course.assessor("Ari Assessor")
    with sqlite_app.test_request_context():
        token = auth.sign_in(designer)
    client = sqlite_app.test_client(use_cookies=False)
    response = client.post(f"/design/editors?lt={token}", data={"user_id": str(teacher.user_id), "lt": token})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/design/?") and "lt=" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ari Assessor is now an editor of this course" in page
    removed = client.post(f"/design/editors/{teacher.user_id}/remove?lt={token}", data={"lt": token})
    assert removed.status_code == 303 and "lt=" in removed.headers["Location"]
