"""NRPS roster refresh through real HTTP: Link paging across three pages, Moodle's short role names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lti_tool.db import Database
from lti_tool.db.models import Membership, User
from lti_tool.services.roster import refresh_roster
from tests.integration import test_ags_fake_moodle
from tests.integration.test_ags_fake_moodle import FakeMoodle, seed_course

moodle = test_ags_fake_moodle.moodle  # the same fixture: a Moodle-shaped platform on 127.0.0.1


@pytest.fixture(autouse=True)
def _in_the_app(app):  # type: ignore[no-untyped-def]
    """Services called straight from these tests run in the app's context, as the worker runs them
    (development mode lets them reach the platform on http://127.0.0.1)."""
    with app.app_context():
        yield


def member(user_id: str, name: str, role: str = "Learner", status: str = "Active") -> dict[str, object]:
    given, family = name.split(" ", 1)
    return {
        "status": status,
        "roles": [role],
        "user_id": user_id,
        "name": name,
        "given_name": given,
        "family_name": family,
        "email": f"{given.lower()}@example.com",
    }


def test_roster_follows_link_paging_across_three_pages(db: Database, moodle: FakeMoodle) -> None:
    course = seed_course(db, moodle)  # user "4" exists already (from a launch)
    with db.transaction() as session:
        session.add(
            Membership(
                context_id=course.context_id,
                user_id=course.learner_id,
                roles=["learner"],
                source="launch",
            )
        )
    moodle.members = [
        member("4", "Sam Student"),
        member("3", "Tessa Teacher", "Instructor"),
        member("5", "Nia Newcomer"),
        member("6", "Omar Onboard"),
        member("7", "Pat Patient"),
    ]
    moodle.page_size = 2

    result = refresh_roster(db, course.context_id)

    assert moodle.membership_pages_served == 3
    assert (result.members, result.added, result.updated) == (5, 4, 0)
    with db.read() as session:
        rows = session.execute(
            select(User.sub, User.name, User.email, Membership.roles, Membership.source, Membership.status)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.context_id == course.context_id)
            .order_by(User.sub)
        ).all()
    assert [(r.sub, r.source) for r in rows] == [
        ("3", "roster"),
        ("4", "launch"),
        ("5", "roster"),
        ("6", "roster"),
        ("7", "roster"),
    ]
    by_sub = {r.sub: r for r in rows}
    assert by_sub["3"].roles == ["assessor"]  # Instructor: a teacher (not on the course's editors list)
    assert by_sub["5"].name == "Nia Newcomer" and by_sub["5"].email == "nia@example.com"


def test_second_refresh_updates_and_deactivates(db: Database, moodle: FakeMoodle) -> None:
    course = seed_course(db, moodle)
    moodle.members = [member("5", "Nia Newcomer"), member("6", "Omar Onboard"), member("7", "Pat Patient")]
    moodle.page_size = 1
    first = refresh_roster(db, course.context_id)
    assert (first.added, moodle.membership_pages_served) == (3, 3)

    moodle.members = [member("5", "Nia Newcomer", status="Inactive"), member("6", "Omar Onboard")]
    second = refresh_roster(db, course.context_id)
    assert (second.members, second.added, second.updated, second.deactivated) == (2, 0, 1, 1)
    with db.read() as session:
        statuses = dict(
            session.execute(
                select(User.sub, Membership.status).join(Membership, Membership.user_id == User.id)
            ).all()
        )
    assert statuses == {"5": "Inactive", "6": "Active", "7": "Deleted"}
    assert moodle.token_requests == 1  # the NRPS token is cached like the AGS one
