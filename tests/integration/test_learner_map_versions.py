"""A learner is judged by the map version under which they started a stack (SQLite, PostgreSQL).

A credential added to a stack in a new version does not raise the bar of a learner part-way through it; a
learner who starts after the new version is published gets the new bar; a designer's move applies it; grants
keep the version they were earned under; the set-based completion query agrees, learner by learner.
"""

from __future__ import annotations

import random
import shutil
import uuid
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, func, select, text

from lti_tool.db import Database, queries
from lti_tool.db.lti_service_models import Placement
from lti_tool.db.migrate import upgrade
from lti_tool.db.models import AuditEvent, Context, Grant, LearnerStackVersion, OutboxMessage, Submission
from lti_tool.domain.completion import stack_complete
from lti_tool.domain.definitions import ArtifactInput
from lti_tool.domain.learner_map import as_started
from lti_tool.services import artifacts, assessment, column_adoption, evidence, learner_versions, progress
from lti_tool.services.course_maps import load_course_maps
from lti_tool.services.eligibility import course_eligibility
from lti_tool.services.errors import Conflict
from lti_tool.services.map_versions import course_map_for_version
from lti_tool.services.scope import context_course
from tests import scenario
from tests.conftest import PG_ADMIN_URL, _psycopg, require_postgres

STACK = "executive-function"
ORIGINAL = [
    "ef-foundations-of-practice",
    "ef-empowering-your-learners",
    "ef-supporting-students",
    "ef-data-driven-decision-making",
    "ef-engaging-your-peers",
]
ADDED = "ef-reflecting-on-practice"


def edited_map(tmp_path: Path, *, add: bool = True, remove: str | None = None) -> Path:
    """A copy of learning-differences with a sixth credential in the Executive Function stack (``add``),
    or with ``remove`` taken out of it."""
    root = tmp_path / "v2" / "learning-differences"
    shutil.copytree(scenario.LEARNING_DIFFERENCES, root)
    course_yaml = root / "course.yaml"
    text = course_yaml.read_text()
    last = "      - ef-engaging-your-peers\n"
    assert text.count(last) == 1
    if add:
        source = (root / "credentials" / "ef-engaging-your-peers.yaml").read_text()
        (root / "credentials" / f"{ADDED}.yaml").write_text(
            source.replace("id: ef-engaging-your-peers", f"id: {ADDED}", 1).replace(
                "title: ", "title: Reflecting on Practice, after ", 1
            )
        )
        text = text.replace(last, last + f"      - {ADDED}\n")
    if remove:
        text = text.replace(f"      - {remove}\n", "")
        (root / "credentials" / f"{remove}.yaml").unlink()
    course_yaml.write_text(text)
    return root


def earn_as_seen(c: scenario.Course, learner: int, assessor: int, key: str) -> assessment.DecisionResult:
    """``scenario.earn`` for a credential as this learner sees it (maybe one the live map no longer has)."""
    credential = evidence.open_submission(c.db, c.context_id, learner, key).credential
    req = credential.requirements
    text = " ".join(["evidence"] * 300)
    answers = {q.id: text for q in req.overview_questions}
    evidence.save_draft(
        c.db, c.context_id, learner, key, answers, {r.id: text for r in req.reflection_prompts}
    )
    for artifact in req.artifacts:
        for n in range(artifact.min_count):
            url = f"https://video.example/{n}" + ("" if ArtifactInput.LINK in artifact.accepts else ".mp4")
            artifacts.add_link_artifact(c.db, c.context_id, learner, key, artifact.id, url, f"item {n}")
    view = evidence.submit(c.db, c.context_id, learner, key)
    assert view.id is not None
    scores = {criterion.id: criterion.passing_level for criterion in view.credential.rubric.criteria}
    return assessment.decide(c.db, c.context_id, view.id, assessor, scores, "")


def publish(db, path: Path) -> int:  # type: ignore[no-untyped-def]
    (result,) = load_course_maps(db, [path])
    assert result.created and result.became_current
    return result.version_id


def live_version(c: scenario.Course) -> int:
    with c.db.read() as session:
        return context_course(session, c.context_id)[2]


def stack_progress(db, c: scenario.Course, learner: int) -> progress.StackProgress:  # type: ignore[no-untyped-def]
    overview = progress.learner_overview(db, c.context_id, learner)
    return next(s for s in overview.stacks if s.stack.id == STACK)


def stack_grants(db, learner: int) -> list[Grant]:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return list(
            session.scalars(
                select(Grant).where(
                    Grant.user_id == learner, Grant.kind == "stack", Grant.target_key == STACK
                )
            )
        )


def test_an_added_credential_does_not_raise_a_part_way_learners_bar(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    v1 = live_version(c)
    learner, assessor = c.person("Part Way"), c.person("Ada", scenario.ASSESSOR)
    for key in ORIGINAL[:2]:
        scenario.earn(c, learner, assessor, key)
    with db.read() as session:
        recorded = session.scalars(
            select(LearnerStackVersion).where(LearnerStackVersion.user_id == learner)
        ).all()
    assert [(r.stack_key, r.map_version_id) for r in recorded] == [(STACK, v1)]

    v2 = publish(db, edited_map(tmp_path))
    assert stack_progress(db, c, learner).needed == 5  # still the bar they started under
    for key in ORIGINAL[2:]:
        result = scenario.earn(c, learner, assessor, key)
    assert [(kind, target) for _, kind, target in result.new_grants] == [("stack", STACK)]
    shown = stack_progress(db, c, learner)
    assert (shown.earned, shown.needed, shown.complete) == (5, 5, True)
    assert shown.grant is not None and shown.grant.map_version_id == v1  # the version it was earned under
    assert [s.credential.id for s in shown.credentials] == ORIGINAL
    # The eligibility report says the same: complete and granted.
    report = course_eligibility(db, c.context_id)
    assert report.complete_stacks[STACK] == 1 and report.ungranted == []
    assert v2 != v1


def test_a_learner_who_starts_after_publication_gets_the_new_bar(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    assessor = c.person("Ada", scenario.ASSESSOR)
    v2 = publish(db, edited_map(tmp_path))
    late = c.person("Late Starter")
    for key in ORIGINAL:
        result = scenario.earn(c, late, assessor, key)
        assert result.new_grants == []
    shown = stack_progress(db, c, late)
    assert (shown.earned, shown.needed, shown.complete, shown.grant) == (5, 6, False, None)
    assert course_eligibility(db, c.context_id).complete_stacks[STACK] == 0
    result = scenario.earn(c, late, assessor, ADDED)
    assert [(kind, target) for _, kind, target in result.new_grants] == [("stack", STACK)]
    [grant] = stack_grants(db, late)
    assert grant.map_version_id == v2


def test_moving_a_learner_on_applies_the_new_version(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    v1 = live_version(c)
    assessor, designer = c.person("Ada", scenario.ASSESSOR), c.person("Dee", "designer")
    moved, stays, finished = c.person("Mo Moved"), c.person("Sam Stays"), c.person("Fin Finished")
    for learner in (moved, stays):
        for key in ORIGINAL[:4]:
            scenario.earn(c, learner, assessor, key)
    for key in ORIGINAL:
        scenario.earn(c, finished, assessor, key)
    [earned_grant] = stack_grants(db, finished)
    v2 = publish(db, edited_map(tmp_path))

    behind = learner_versions.learners_on_older_versions(db, c.context_id)
    [stack] = behind.stacks
    assert stack.stack_key == STACK and [x.user_id for x in stack.learners] == [moved, stays]
    assert {x.revision for x in stack.learners} == {1} and behind.live_revision == 2

    result = learner_versions.move_to_live_version(db, c.context_id, STACK, designer, user_id=moved)
    assert result.moved == [moved] and result.granted == []
    assert stack_progress(db, c, moved).needed == 6
    assert stack_progress(db, c, stays).needed == 5
    scenario.earn(c, stays, assessor, ORIGINAL[4])
    scenario.earn(c, moved, assessor, ORIGINAL[4])
    assert [g.map_version_id for g in stack_grants(db, stays)] == [v1]
    assert stack_grants(db, moved) == []  # five of six now
    scenario.earn(c, moved, assessor, ADDED)
    assert [g.map_version_id for g in stack_grants(db, moved)] == [v2]

    # A granted stack keeps its version: the finished learner is not moved, and says so.
    with pytest.raises(Conflict):
        learner_versions.move_to_live_version(db, c.context_id, STACK, designer, user_id=finished)
    assert stack_grants(db, finished)[0].map_version_id == earned_grant.map_version_id == v1
    assert stack_progress(db, c, finished).needed == 5
    with db.read() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "learner.stack_version_moved")
        ).all()
    assert [
        (e.actor_user_id, e.data["learner"], e.data["from_version"], e.data["to_version"]) for e in events
    ] == [(designer, moved, v1, v2)]


def test_moving_every_learner_of_a_stack_grants_what_the_live_version_completes(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    assessor, designer = c.person("Ada", scenario.ASSESSOR), c.person("Dee", "designer")
    a, b = c.person("A Learner"), c.person("B Learner")
    for key in ORIGINAL[:4]:
        scenario.earn(c, a, assessor, key)
    scenario.earn(c, b, assessor, ORIGINAL[0])
    v2 = publish(db, edited_map(tmp_path, add=False, remove=ORIGINAL[4]))  # four credentials now
    assert stack_progress(db, c, a).needed == 5
    result = learner_versions.move_to_live_version(db, c.context_id, STACK, designer)
    assert sorted(result.moved) == sorted([a, b])
    assert [uid for uid, _ in result.granted] == [a]
    [grant] = stack_grants(db, a)
    assert grant.map_version_id == v2
    shown = stack_progress(db, c, a)
    assert (shown.earned, shown.needed, shown.complete) == (4, 4, True)
    assert stack_progress(db, c, b).needed == 4
    with db.read() as session:
        topics = [m.payload for m in session.scalars(select(OutboxMessage)) if m.topic == "gradebook.stack"]
    assert any(p["user_id"] == a and p["granted"] and p["required_count"] == 4 for p in topics)
    assert learner_versions.learners_on_older_versions(db, c.context_id).stacks == []


def test_a_credential_removed_later_is_still_the_part_way_learners_to_earn(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    v1 = live_version(c)
    learner, assessor = c.person("Part Way"), c.person("Ada", scenario.ASSESSOR)
    scenario.earn(c, learner, assessor, ORIGINAL[0])
    publish(db, edited_map(tmp_path, add=False, remove=ORIGINAL[4]))
    # The removed credential is on their stack page, and its evidence is asked for and judged under v1.
    assert ORIGINAL[4] in [s.credential.id for s in stack_progress(db, c, learner).credentials]
    for key in ORIGINAL[1:]:
        result = earn_as_seen(c, learner, assessor, key)
    with db.read() as session:
        sub = session.scalars(
            select(Submission).where(Submission.user_id == learner, Submission.credential_key == ORIGINAL[4])
        ).one()
    assert sub.map_version_id == v1 and sub.state == "earned"
    assert [(kind, target) for _, kind, target in result.new_grants] == [("stack", STACK)]
    view, _name = assessment.review_detail(db, c.context_id, sub.id)
    assert view.credential.id == ORIGINAL[4]
    # A newcomer cannot start it: it is not in the live map.
    newcomer = c.person("Newcomer")
    with pytest.raises(Exception, match="No micro-credential"):
        evidence.save_draft(db, c.context_id, newcomer, ORIGINAL[4], {}, {})


def test_rebinding_the_course_ignores_versions_recorded_for_another_map(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    scenario.earn(c, learner, assessor, ORIGINAL[0])
    other = scenario.course(db, scenario.LEARNING_DIFFERENCES.parent / "global-graduates", context_id="gg")
    with db.transaction() as session:
        ctx = session.get(Context, c.context_id)
        assert ctx is not None
        ctx.course_key = other.course_key
    overview = progress.learner_overview(db, c.context_id, learner)
    assert [s.stack.id for s in overview.stacks] == [s.id for s in other.map().stacks]


@pytest.mark.parametrize("by_join", [False, True], ids=["masks", "join"])
def test_set_based_completion_judges_each_learner_by_their_version(  # type: ignore[no-untyped-def]
    db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by_join: bool
) -> None:
    if by_join:
        monkeypatch.setattr(queries, "MASK_LIMIT", 0)  # the general GROUP BY form for very large courses
    c = scenario.course(db)
    v1 = live_version(c)
    v2 = publish(db, edited_map(tmp_path))
    with db.read() as session:
        maps = {v1: course_map_for_version(session, v1), v2: course_map_for_version(session, v2)}
    live = maps[v2]
    keys = sorted({cr.id for m in maps.values() for cr in m.credentials})
    rng = random.Random(9)
    expected: dict[int, set[str]] = {}
    learners = [c.person(f"L{i}") for i in range(60)]
    with db.transaction() as session:
        for i, learner in enumerate(learners):
            earned = set(keys) if i < 4 else {k for k in keys if rng.random() < 0.8}
            started = {s.id: rng.choice([v1, v2, None]) for s in live.stacks}
            if i < 2:
                started = dict.fromkeys(started, v1)
            for key in keys:
                session.add(
                    Submission(
                        context_id=c.context_id,
                        user_id=learner,
                        course_key=live.id,
                        credential_key=key,
                        map_version_id=v2,
                        state="earned" if key in earned else rng.choice(["submitted", "draft"]),
                        answers={},
                        reflections={},
                    )
                )
            for stack_key, version in started.items():
                if version is not None:
                    session.add(
                        LearnerStackVersion(
                            context_id=c.context_id,
                            user_id=learner,
                            course_key=live.id,
                            stack_key=stack_key,
                            map_version_id=version,
                        )
                    )
            judged = as_started(live, {k: maps[v] for k, v in started.items() if v is not None and v != v2})
            expected[learner] = {s.id for s in judged.stacks if stack_complete(s, earned)}
    report = course_eligibility(db, c.context_id)
    got: dict[int, set[str]] = {learner: set() for learner in learners}
    for user_id, stack_key in report.ungranted:
        got[user_id].add(stack_key)
    assert got == expected
    on_v1 = {learner for learner in learners[:2]}
    assert all(STACK in expected[learner] for learner in on_v1)
    assert any(STACK not in expected[learner] for learner in learners[4:])


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_migration_records_the_version_each_learner_started_under(kind: str, tmp_path: Path) -> None:
    """0008 gives existing learners the version of their stack's grant, else the oldest version under which
    they have evidence for one of its credentials; evidence under another map than the course's gives none."""
    if kind == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'm.sqlite3'}", None
    else:
        require_postgres()
        name = f"lti_m0008_{uuid.uuid4().hex[:8]}"
        admin = create_engine(_psycopg(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url, drop = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", (admin, name)
    try:
        upgrade(url, "0007")
        db = Database(url)
        v1 = load_course_maps(db, [scenario.LEARNING_DIFFERENCES])[0].version_id
        v2 = load_course_maps(db, [edited_map(tmp_path)])[0].version_id
        engine = create_engine(_psycopg(url))
        now = "2026-01-01 00:00:00+00:00"
        with engine.begin() as conn:
            insert = partial(_insert, conn)
            insert(
                "platforms",
                id=1,
                issuer="https://lms",
                client_id="c",
                name="",
                auth_login_url="a",
                auth_token_url="t",
                jwks_url="j",
                product_family="",
                active=True,
                created_at=now,
            )
            insert("deployments", id=1, platform_id=1, deployment_id="d", created_at=now)
            insert(
                "contexts",
                id=1,
                deployment_id=1,
                context_id="ctx",
                title="",
                label="",
                course_key="learning-differences",
                created_at=now,
            )
            for uid in (1, 2, 3, 4):
                insert("users", id=uid, platform_id=1, sub=f"s{uid}", name="", email="", created_at=now)
            evidence_rows = [
                (1, ORIGINAL[0], v1, "learning-differences"),  # started under v1, went on under v2
                (1, ORIGINAL[1], v2, "learning-differences"),
                (2, ORIGINAL[0], v2, "learning-differences"),  # started after v2
                (3, ORIGINAL[0], v1, "learning-differences"),  # granted under v2: the grant's version
                (4, "gg-something", v1, "global-graduates"),  # another map's evidence: nothing
            ]
            for n, (uid, key, version, course_key) in enumerate(evidence_rows, start=1):
                insert(
                    "submissions",
                    id=n,
                    context_id=1,
                    user_id=uid,
                    course_key=course_key,
                    credential_key=key,
                    map_version_id=version,
                    state="earned",
                    attempt=1,
                    answers="{}",
                    reflections="{}",
                    created_at=now,
                    updated_at=now,
                )
            insert(
                "grants",
                context_id=1,
                user_id=3,
                kind="stack",
                target_key=STACK,
                title="EF",
                course_key="learning-differences",
                map_version_id=v2,
                contact_hours=10,
                ceus=1,
                granted_at=now,
            )
        upgrade(url, "0008")
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT user_id, stack_key, map_version_id FROM learner_stack_versions ORDER BY user_id")
            ).all()
        assert [tuple(r) for r in rows] == [(1, STACK, v1), (2, STACK, v2), (3, STACK, v2)]
        engine.dispose()
        db.dispose()
    finally:
        if drop is not None:
            admin, name = drop
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _insert(conn: Connection, table: str, **values: object) -> None:
    columns = ", ".join(values)
    conn.execute(
        text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + k for k in values)})"), values
    )


def test_an_adopted_stack_column_gets_each_learners_progress_by_their_version(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """When a placement's column is adopted, every learner's stack state is sent again: as they are judged."""
    c = scenario.course(db)
    assessor = c.person("Ada", scenario.ASSESSOR)
    early = c.person("Early Starter")
    for key in ORIGINAL[:2]:
        scenario.earn(c, early, assessor, key)
    publish(db, edited_map(tmp_path))
    late = c.person("Late Starter")
    scenario.earn(c, late, assessor, ORIGINAL[0])
    with db.transaction() as session:
        session.add(
            Placement(
                context_id=c.context_id,
                resource_link_id="rl-ef",
                target_kind="stack",
                target_key=STACK,
                lineitem_url="https://lms.example/lineitems/7",
            )
        )
    with db.transaction() as session:
        before = session.scalar(select(func.max(OutboxMessage.id))) or 0
    adoption = column_adoption.adopt_placement(db, c.context_id, "stack", STACK)
    assert adoption is not None and adoption.resent == 2
    with db.read() as session:
        sent = [
            m.payload
            for m in session.scalars(select(OutboxMessage).where(OutboxMessage.id > before))
            if m.topic == "gradebook.stack"
        ]
    counts = {p["user_id"]: (p["earned_count"], p["required_count"]) for p in sent}
    assert counts == {early: (2, 5), late: (1, 6)}
