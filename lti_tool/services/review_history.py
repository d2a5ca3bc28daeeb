"""The assessors' history: decided attempts of a course, newest first, filtered by assessor, credential,
learner (a name search) and decision, one page at a time; each row names who reviewed it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from math import ceil

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, or_, select

from ..db import Database
from ..db.models import Assessment, AttemptDecision, Membership, Submission, User
from ..domain.definitions import CourseMap
from .errors import ServiceError
from .scope import context_course

PAGE_SIZE = 50
DECISIONS = ("earned", "not_yet", "revoked")
MAX_SEARCH = 100


@dataclass(frozen=True)
class HistoryFilters:
    assessor_id: int | None = None
    credential: str = ""
    learner: str = ""  # part of the learner's name, any case
    decision: str = ""
    page: int = 1

    def args(self, **changes: object) -> dict[str, str]:
        chosen = replace(self, **changes)  # type: ignore[arg-type]
        values = {
            "assessor": str(chosen.assessor_id) if chosen.assessor_id else "",
            "credential": chosen.credential,
            "learner": chosen.learner,
            "decision": chosen.decision,
            "page": str(chosen.page) if chosen.page > 1 else "",
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class HistoryRow:
    submission_id: int
    attempt: int
    user_id: int
    learner_name: str
    credential_key: str
    credential_title: str
    decision: str
    rule: str
    decided_at: datetime
    reviewers: list[str]


@dataclass(frozen=True)
class HistoryPage:
    rows: list[HistoryRow]
    total: int
    filters: HistoryFilters
    course: CourseMap
    assessors: list[tuple[int, str]]  # the course's assessors, for the filter

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / PAGE_SIZE))


def _number(raw: str, field: str, message: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12 or int(raw) < 1:
        raise ServiceError("bad_filter", message, field=field)
    return int(raw)


def history_filters_from(args: Mapping[str, str]) -> HistoryFilters:
    decision = (args.get("decision") or "").strip()
    if decision and decision not in DECISIONS:
        raise ServiceError("bad_filter", "Decision: earned, not yet or revoked.", field="decision")
    learner = (args.get("learner") or "").strip()
    if len(learner) > MAX_SEARCH:
        raise ServiceError("bad_filter", f"Learner: at most {MAX_SEARCH} characters.", field="learner")
    return HistoryFilters(
        assessor_id=_number(args.get("assessor") or "", "assessor", "Assessor: choose one from the list."),
        credential=(args.get("credential") or "").strip(),
        learner=learner,
        decision=decision,
        page=_number(args.get("page") or "", "page", "No such page.") or 1,
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(context_id: int, filters: HistoryFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Submission.context_id == context_id]
    if filters.assessor_id is not None:
        conditions.append(
            exists().where(
                Assessment.submission_id == AttemptDecision.submission_id,
                Assessment.attempt == AttemptDecision.attempt,
                Assessment.assessor_id == filters.assessor_id,
            )
        )
    if filters.credential:
        conditions.append(Submission.credential_key == filters.credential)
    if filters.learner:
        conditions.append(func.lower(User.name).like(_like(filters.learner), escape="\\"))
    if filters.decision:
        conditions.append(AttemptDecision.decision == filters.decision)
    return conditions


def decision_history(db: Database, context_id: int, filters: HistoryFilters | None = None) -> HistoryPage:
    filters = filters or HistoryFilters()
    with db.read() as session:
        _, course, _ = context_course(session, context_id)
        conditions = _conditions(context_id, filters)
        base = (
            select(AttemptDecision, Submission.user_id, Submission.credential_key, User.name)
            .join(Submission, Submission.id == AttemptDecision.submission_id)
            .join(User, User.id == Submission.user_id)
            .where(*conditions)
        )
        rows = session.execute(
            base.order_by(AttemptDecision.decided_at.desc(), AttemptDecision.id.desc())
            .limit(PAGE_SIZE)
            .offset((filters.page - 1) * PAGE_SIZE)
        ).all()
        counted = (
            select(func.count())
            .select_from(AttemptDecision)
            .join(Submission, Submission.id == AttemptDecision.submission_id)
        )
        if filters.learner:  # the name is only needed to search by it
            counted = counted.join(User, User.id == Submission.user_id)
        total = session.scalar(counted.where(*conditions)) or 0
        reviewers: dict[tuple[int, int], list[str]] = defaultdict(list)
        pairs = [(d.submission_id, d.attempt) for d, *_ in rows]
        if pairs:
            for sid, attempt, name in session.execute(
                select(Assessment.submission_id, Assessment.attempt, User.name)
                .join(User, User.id == Assessment.assessor_id)
                .where(or_(*(and_(Assessment.submission_id == s, Assessment.attempt == a) for s, a in pairs)))
                .order_by(Assessment.created_at, Assessment.id)
            ):
                reviewers[(sid, attempt)].append(name or "")
        # The filter's choices: the course's members who may review (a JSON list of roles; the text
        # match keeps it one query on SQLite and PostgreSQL alike).
        roles = cast(Membership.roles, String)
        assessors = [
            (uid, name or f"User {uid}")
            for uid, name in session.execute(
                select(User.id, User.name)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.context_id == context_id,
                    or_(roles.like('%"assessor"%'), roles.like('%"designer"%')),
                )
                .order_by(User.name, User.id)
            )
        ]
    titles = {c.id: c.title for c in course.credentials}
    items = [
        HistoryRow(
            submission_id=d.submission_id,
            attempt=d.attempt,
            user_id=user_id,
            learner_name=name or f"Learner {user_id}",
            credential_key=key,
            credential_title=titles.get(key, key),
            decision=d.decision,
            rule=d.rule,
            decided_at=d.decided_at,
            reviewers=reviewers.get((d.submission_id, d.attempt), []),
        )
        for d, user_id, key, name in rows
    ]
    return HistoryPage(items, total, filters, course, assessors)
