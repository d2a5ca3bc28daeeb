"""The designer's reports on SQLite and PostgreSQL: the funnel per stack and credential (roster-only learners
included), the median time to decision, credentials earned per week (chart and table), the learner list
(search, pages, standing per stack, links to the staff learner page), the streamed CSV and who may see
them."""

from __future__ import annotations

import csv
import inspect
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from lti_tool.db import Database
from lti_tool.db.models import AttemptDecision, Membership, Submission
from lti_tool.domain.definitions import CourseMap
from lti_tool.services import assessment, course_report, evidence
from lti_tool.web.auth import Actor
from tests import factories

EF = "executive-function"
LM = "learner-motivation"
FORMULA_NAME = '=HYPERLINK("http://evil.example","Eve")'


@dataclass
class Scene:
    db: Database
    course_map: CourseMap
    course: factories.CourseFixture
    people: dict[str, Actor]
    designer: FlaskClient


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", html.decode())


def _ef(course_map: CourseMap) -> list[str]:
    return list(course_map.stack(EF).credential_ids)


@pytest.fixture
def scene(app: Flask) -> Scene:
    """Six learners, one in each place of the Executive Function stack, and one who left the course."""
    db: Database = app.extensions["db"]
    course_map = factories.load_shipped_map(db)
    course = factories.course(db)
    assessor = course.assessor()
    people = {
        name: course.learner(name)
        for name in ("Rita Roster", "Dan Draft", "Wes Waiting", "Nia Notyet", "Erin Earned", FORMULA_NAME)
    }
    gone = course.learner("Gus Gone")  # left the course before starting: not counted anywhere
    with db.transaction() as session:
        session.execute(
            update(Membership)
            .where(Membership.user_id == gone.user_id, Membership.context_id == course.context_id)
            .values(status="Deleted")
        )
    first = course_map.credential(_ef(course_map)[0])
    for name in ("Dan Draft", FORMULA_NAME):
        evidence.save_draft(db, course.context_id, people[name].user_id, first.id, {"research": "begun"}, {})
    factories.complete_evidence(db, people["Wes Waiting"], first)
    evidence.submit(db, course.context_id, people["Wes Waiting"].user_id, first.id)
    factories.complete_evidence(db, people["Nia Notyet"], first)
    sent = evidence.submit(db, course.context_id, people["Nia Notyet"].user_id, first.id)
    assert sent.id is not None
    assessment.decide(
        db, course.context_id, sent.id, assessor.user_id, factories.failing_scores(first), "More evidence."
    )
    for key in _ef(course_map):
        factories.earn(db, people["Erin Earned"], assessor, course_map.credential(key))
    client = app.test_client()
    factories.sign_in(client, course.designer())
    return Scene(db, course_map, course, {**people, "assessor": assessor}, client)


def _set_times(scene: Scene, hours_to_decide: list[int], earned_on: list[datetime]) -> None:
    """Give Erin's five decisions and Nia's one known durations, and Erin's credentials known earned dates."""
    db, context_id = scene.db, scene.course.context_id
    base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with db.transaction() as session:
        subs = session.scalars(
            select(Submission)
            .where(Submission.context_id == context_id, Submission.state.in_(("earned", "not_yet")))
            .order_by(Submission.user_id, Submission.credential_key)
        ).all()
        assert len(subs) == len(hours_to_decide) == 6
        earned = [s for s in subs if s.state == "earned"]
        for sub, when in zip(earned, earned_on, strict=True):
            sub.earned_at = when
        for sub, hours in zip(subs, hours_to_decide, strict=True):
            sub.submitted_at = base
            session.execute(
                update(AttemptDecision)
                .where(AttemptDecision.submission_id == sub.id)
                .values(decided_at=base + timedelta(hours=hours))
            )
        course_report._cache.clear()


def test_funnel_counts_every_learner_once_per_stack(scene: Scene) -> None:
    report = course_report.course_report(scene.db, scene.course.context_id)
    assert report.learners == 6  # Gus left without evidence; the designer and assessor are not learners
    ef = next(f for f in report.stacks if f.stack.id == EF)
    assert (ef.not_started, ef.drafting, ef.not_yet, ef.waiting, ef.complete, ef.granted) == (
        1,
        2,
        1,
        1,
        1,
        1,
    )
    lm = next(f for f in report.stacks if f.stack.id == LM)
    assert (lm.not_started, lm.drafting, lm.waiting, lm.complete, lm.granted) == (6, 0, 0, 0, 0)
    first, second = (report.credentials[k] for k in _ef(scene.course_map)[:2])
    assert first.counts == {"draft": 2, "submitted": 1, "not_yet": 1, "earned": 1}
    assert first.not_started == 1
    assert second.counts == {"earned": 1} and second.not_started == 5
    assert report.awaiting_review == 1 and report.ceus_granted == 1.0

    page = _text(scene.designer.get("/design/").data)
    funnel = re.search(rf'<table class="funnel" data-funnel="{EF}">(.*?)</table>', page)
    assert funnel is not None
    stages = dict(
        re.findall(r'<tr data-stage="(\w+)"><th scope="row">[^<]*</th><td>(\d+)</td>', funnel.group(1))
    )
    assert stages == {
        "not_started": "1",
        "drafting": "2",
        "not_yet": "1",
        "waiting": "1",
        "complete": "1",
        "granted": "1",
    }
    assert "Review queue (1 waiting)" in page


def test_median_time_to_decision_per_stack(scene: Scene) -> None:
    day = datetime(2026, 3, 2, tzinfo=UTC)
    _set_times(scene, [1, 2, 3, 4, 10, 20], [day] * 5)
    report = course_report.course_report(scene.db, scene.course.context_id)
    ef = next(f for f in report.stacks if f.stack.id == EF)
    assert ef.decisions == 6 and ef.median_seconds == pytest.approx(3.5 * 3600, abs=1)
    assert next(f for f in report.stacks if f.stack.id == LM).median_seconds is None
    page = _text(scene.designer.get("/design/").data)
    assert re.search(rf'data-median="{EF}">.*?<strong>3 hours</strong> .*?over 6 decision', page)
    assert course_report.duration_text(3 * 86400 + 7200) == "3 days 2 hours"


def test_weekly_chart_and_its_table_carry_the_same_numbers(scene: Scene) -> None:
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    earned_on = [monday, monday + timedelta(days=2), monday + timedelta(days=6, hours=13)]  # Sunday night
    earned_on += [monday + timedelta(days=14), monday + timedelta(days=18)]
    _set_times(scene, [1, 1, 1, 1, 1, 1], earned_on)
    report = course_report.course_report(scene.db, scene.course.context_id)
    assert [(w.week.isoformat(), w.earned, w.total) for w in report.weeks] == [
        ("2026-03-02", 3, 3),
        ("2026-03-09", 0, 3),
        ("2026-03-16", 2, 5),
    ]
    page = scene.designer.get("/design/").data.decode()
    svg = re.search(r'<svg[^>]*data-chart="earned-weekly".*?</svg>', page, re.S)
    assert svg is not None and "<script" not in svg.group(0)
    assert '<title id="earned-weekly-title">Micro-credentials earned per week</title>' in svg.group(0)
    assert re.findall(r'data-value="(\d+)"', svg.group(0)) == ["3", "0", "2"]
    assert "<title>02 Mar 2026: 3</title>" in svg.group(0)
    total = re.search(r'<svg[^>]*data-chart="earned-total".*?</svg>', page, re.S)
    assert total is not None and re.findall(r'data-value="(\d+)"', total.group(0)) == ["3", "3", "5"]
    rows = re.findall(
        r'<tr data-week="([\d-]+)"><th scope="row">[\d-]+</th><td>(\d+)</td><td>(\d+)</td>', page
    )
    assert rows == [("2026-03-02", "3", "3"), ("2026-03-09", "0", "3"), ("2026-03-16", "2", "5")]


def test_learner_list_searches_pages_and_links_to_the_staff_page(scene: Scene) -> None:
    for i in range(50):
        scene.course.learner(f"Zed Extra {i:02d}")
    page = _text(scene.designer.get("/design/learners").data)
    assert 'data-total="56"' in page and "page 1 of 2" in page
    rows = re.findall(r'<tr data-learner="(\d+)">(.*?)</tr>', page)
    assert len(rows) == 50
    names = [re.search(r'">([^<]+)</a>', r).group(1) for _, r in rows]  # type: ignore[union-attr]
    assert names[:5] == [
        "=HYPERLINK(&#34;http://evil.example&#34;,&#34;Eve&#34;)",
        "Dan Draft",
        "Erin Earned",
        "Nia Notyet",
        "Rita Roster",
    ]
    by_id = dict(rows)
    erin, wes = scene.people["Erin Earned"].user_id, scene.people["Wes Waiting"].user_id
    assert f'href="/assess/learners/{erin}"' in by_id[str(erin)]
    assert f'<td data-stack="{EF}">5/5 <span class="state earned">CEUs granted</span>' in by_id[str(erin)]
    assert f'<td data-stack="{LM}">0/5</td>' in by_id[str(erin)]
    second = _text(scene.designer.get("/design/learners?page=2").data)
    assert len(re.findall(r'<tr data-learner="\d+">', second)) == 6 and "Zed Extra 49" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second

    found = _text(scene.designer.get("/design/learners?q=WAIT").data)
    rows = re.findall(r'<tr data-learner="(\d+)">(.*?)</tr>', found)
    assert [int(u) for u, _ in rows] == [wes]
    assert f'<td data-stack="{EF}">0/5, waiting 1</td>' in rows[0][1]
    nobody = _text(scene.designer.get("/design/learners?q=100%25_").data)  # LIKE wildcards are literal
    assert 'data-total="0"' in nobody and "No learners match" in nobody


def test_csv_is_streamed_formula_safe_and_complete(scene: Scene) -> None:
    chunks = course_report.progress_csv(scene.db, scene.course.context_id)
    assert inspect.isgenerator(chunks)
    chunks.close()
    response = scene.designer.get("/design/learners.csv", buffered=False)
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert 'filename="progress.csv"' in response.headers["Content-Disposition"]
    assert not isinstance(response.response, (list, tuple, bytes, str))  # an iterator, written as read
    body = b"".join(c if isinstance(c, bytes) else c.encode() for c in response.response).decode()
    response.close()
    table = list(csv.reader(io.StringIO(body)))
    header, rows = table[0], {r[0]: r for r in table[1:]}
    assert header == [
        "name",
        "email",
        *(f"{s.id} {part}" for s in scene.course_map.stacks for part in ("earned", "needed")),
        "draft",
        "submitted",
        "not_yet",
        "earned",
        "ceus_granted",
    ]
    assert len(rows) == 6 and "Gus Gone" not in rows
    assert rows["Erin Earned"][2:] == ["5", "5", "0", "5", "0", "5", "0", "0", "0", "5", "1.0"]
    assert rows["Wes Waiting"][2:4] == ["0", "5"] and rows["Wes Waiting"][-5:] == ["0", "1", "0", "0", "0.0"]
    assert rows["Rita Roster"][-5:] == ["0", "0", "0", "0", "0.0"]
    assert "'" + FORMULA_NAME in rows  # a name that would run as a formula gets an apostrophe
    assert FORMULA_NAME not in rows


def test_a_large_busy_course_may_see_counts_a_minute_old(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, context_id = scene.db, scene.course.context_id
    course_report._cache.clear()  # the PostgreSQL tests reuse one database, and so its course ids
    monkeypatch.setattr(course_report, "LARGE_COURSE", 1)
    before = course_report.course_report(db, context_id, max_age_seconds=60)
    rita = scene.people["Rita Roster"]
    evidence.save_draft(db, context_id, rita.user_id, _ef(scene.course_map)[1], {}, {})
    stale = course_report.course_report(db, context_id, max_age_seconds=60)
    assert stale.computed_at == before.computed_at
    assert next(f for f in stale.stacks if f.stack.id == EF).not_started == 1
    exact = course_report.course_report(db, context_id, max_age_seconds=0)
    assert exact.computed_at > before.computed_at
    assert next(f for f in exact.stacks if f.stack.id == EF).not_started == 0
    monkeypatch.setattr(course_report, "LARGE_COURSE", 5_000)  # a small course: always current
    evidence.save_draft(db, context_id, rita.user_id, _ef(scene.course_map)[2], {}, {})
    current = course_report.course_report(db, context_id, max_age_seconds=60)
    assert current.credentials[_ef(scene.course_map)[2]].counts == {"draft": 1, "earned": 1}


@pytest.mark.parametrize("path", ["/design/learners", "/design/learners.csv"])
def test_learners_may_not_see_the_reports(scene: Scene, app: Flask, path: str) -> None:
    client = app.test_client()
    factories.sign_in(client, scene.people["Dan Draft"])
    response = client.get(path)
    assert response.status_code == 403
    assert b"Dan Draft" not in response.data and b"Erin" not in response.data
    assessor = app.test_client()
    factories.sign_in(assessor, scene.people["assessor"])
    assert assessor.get(path).status_code == 200  # teachers who review see them read-only
