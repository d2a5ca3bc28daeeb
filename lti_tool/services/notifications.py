"""E-mail notifications: what is written, to whom, and when.

A recorded decision tells the learner (the credential, earned or not yet with the feedback, a link to the
credential page); a periodic digest tells each assessor what waits for them (at most one e-mail per
assessor per ``digest_hours``). Each e-mail is an ``EmailMessage`` row plus an ``email.send`` outbox
message, written in the caller's transaction, so a rolled-back decision sends nothing and a committed one
is never lost; ``mail_delivery`` sends them after commit. With notifications off nothing is written; a
person without an e-mail address is skipped (and counted in the log).
"""

from __future__ import annotations

import logging
import math
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Assessment, Context, EmailMessage, Membership, Submission, User
from ..domain.submissions import SubmissionState
from . import outbox

log = logging.getLogger("lti_tool.notifications")

TOPIC = "email.send"
MODES = ("off", "mailbox", "smtp")
KIND_DECISION = "decision"
KIND_WAITING = "waiting_work"


@dataclass(frozen=True)
class NotificationSettings:
    """Set once at start-up from the environment (``create_app``); the services read it without Flask."""

    mode: str = "off"  # off | mailbox | smtp
    base_url: str = "http://127.0.0.1:5000"
    mail_from: str = "Micro-credential Stacks <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)  # a secret: never in a repr or a log line
    smtp_starttls: bool = True
    smtp_ca_file: str = ""  # PEM CA certificates STARTTLS trusts instead of the system's; empty: the system's
    smtp_timeout: float = 15.0
    digest_hours: int = 24

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def tls_context(self) -> ssl.SSLContext:
        """What STARTTLS checks the server with: the certificate chain up to a trusted CA (``smtp_ca_file``
        only when set, else the system's) and the host name (``smtp_host``). Read on each connection, so
        a renewed CA file needs no restart."""
        return ssl.create_default_context(cafile=self.smtp_ca_file or None)


_current = NotificationSettings()


def configure(settings: NotificationSettings) -> None:
    global _current
    if settings.mode not in MODES:
        raise ValueError(f"notifications mode must be one of {MODES}, not {settings.mode!r}")
    if settings.mode == "smtp" and settings.smtp_ca_file:
        # A CA file that cannot be read stops start-up, instead of failing every e-mail later.
        if not settings.smtp_starttls:
            raise ValueError(
                "SMTP_CA_FILE is set but SMTP_STARTTLS is off: mail would go in clear, the CA unused"
            )
        try:
            settings.tls_context()
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: not PEM, no certificate in it
            raise ValueError(f"SMTP_CA_FILE {settings.smtp_ca_file!r} cannot be used: {exc}") from None
    _current = settings


def current() -> NotificationSettings:
    return _current


def queue_email(
    session: Session,
    *,
    kind: str,
    user: User,
    context_id: int | None,
    subject: str,
    body: str,
    dedupe_key: str,
) -> EmailMessage | None:
    """Write one e-mail and its outbox message in the caller's transaction. None when notifications are
    off, the person has no address, or an e-mail with this ``dedupe_key`` exists already."""
    if not current().enabled:
        return None
    address = (user.email or "").strip()
    if not address:
        log.info("event=email_skipped reason=no_address kind=%s user_id=%s", kind, user.id)
        return None
    if session.scalar(select(EmailMessage.id).where(EmailMessage.dedupe_key == dedupe_key)) is not None:
        return None
    message = EmailMessage(
        dedupe_key=dedupe_key,
        kind=kind,
        context_id=context_id,
        to_user_id=user.id,
        to_address=address[:320],
        # A header is one line: a title with a line break must not add headers of its own.
        subject=" ".join(subject.split())[:255],
        body=body,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:  # a concurrent writer of the same dedupe_key won
        return None
    outbox.enqueue(session, TOPIC, {"email_id": message.id}, dedupe_key=f"email:{message.id}")
    return message


# --- the learner hears of a decision -------------------------------------------------------------------


def credential_url(credential_key: str) -> str:
    return f"{current().base_url}/learn/credentials/{credential_key}"


def decision_recorded(
    session: Session, sub: Submission, credential_title: str, decision: str, feedback: str
) -> EmailMessage | None:
    """Tell the learner of ``sub`` that its current attempt was decided (``earned`` or ``not_yet``), with
    the feedback (a panel's combined feedback). Call it in the decision's transaction."""
    user = session.get(User, sub.user_id)
    if user is None or decision not in {"earned", "not_yet"}:
        return None
    earned = decision == "earned"
    subject = f"{credential_title}: " + ("earned" if earned else "not yet, with feedback")
    lines = [f"Hello {user.name or 'there'},", ""]
    if earned:
        lines.append(f'Your evidence for "{credential_title}" (attempt {sub.attempt}) was reviewed: earned.')
    else:
        lines.append(
            f'Your evidence for "{credential_title}" (attempt {sub.attempt}) was reviewed: not yet. '
            "The feedback says what to strengthen; you can revise your evidence and submit it again."
        )
    if feedback.strip():
        lines += ["", "Feedback:", feedback.strip()]
    lines += ["", f"See it in the course: {credential_url(sub.credential_key)}", ""]
    return queue_email(
        session,
        kind=KIND_DECISION,
        user=user,
        context_id=sub.context_id,
        subject=subject,
        body="\n".join(lines),
        dedupe_key=f"decision:{sub.id}:{sub.attempt}",
    )


# --- assessors hear of waiting work ------------------------------------------------------------------


@dataclass
class DigestResult:
    sent: int = 0
    no_address: int = 0
    recently_told: int = 0


@dataclass(frozen=True)
class WaitingCourse:
    context_id: int
    title: str
    count: int
    oldest: datetime


def waiting_age(oldest: datetime, now: datetime) -> str:
    """'3 days', '5 hours', 'less than an hour': how long the oldest submission has waited."""
    hours = max((now - oldest).total_seconds(), 0) / 3600
    if hours < 1:
        return "less than an hour"
    if hours < 48:
        n = math.floor(hours)
        return f"{n} hour{'s' if n != 1 else ''}"
    return f"{math.floor(hours / 24)} days"


def _assessors(session: Session, context_ids: list[int]) -> dict[int, list[int]]:
    """Active assessors of these courses: {user id: [context ids]}."""
    rows = session.execute(
        select(Membership.user_id, Membership.context_id, Membership.roles).where(
            Membership.context_id.in_(context_ids),
            Membership.status == "Active",
            # A cheap filter in SQL (the roles are a JSON list), made exact below.
            cast(Membership.roles, String).like('%"assessor"%'),
        )
    ).all()
    found: dict[int, list[int]] = {}
    for user_id, context_id, roles in rows:
        if "assessor" in (roles or []):
            found.setdefault(user_id, []).append(context_id)
    return found


def _waiting_for(session: Session, assessor_id: int, context_ids: list[int]) -> list[WaitingCourse]:
    """What waits for this assessor: submitted attempts in their courses that are not their own and that
    they have not reviewed yet (a panel's other reviewers may still be due)."""
    reviewed = exists().where(
        Assessment.submission_id == Submission.id,
        Assessment.attempt == Submission.attempt,
        Assessment.assessor_id == assessor_id,
    )
    rows = session.execute(
        select(Submission.context_id, Context.title, func.count(), func.min(Submission.submitted_at))
        .join(Context, Context.id == Submission.context_id)
        .where(
            Submission.context_id.in_(context_ids),
            Submission.state == SubmissionState.SUBMITTED.value,
            Submission.user_id != assessor_id,
            ~reviewed,
        )
        .group_by(Submission.context_id, Context.title)
        .order_by(Submission.context_id)
    ).all()
    return [
        WaitingCourse(cid, title or "your course", n, oldest or utcnow()) for cid, title, n, oldest in rows
    ]


def _digest(user: User, courses: list[WaitingCourse], now: datetime) -> tuple[str, str]:
    total = sum(c.count for c in courses)
    oldest = min(c.oldest for c in courses)
    noun = "submission" if total == 1 else "submissions"
    subject = f"{total} {noun} waiting for review, oldest {waiting_age(oldest, now)}"
    lines = [f"Hello {user.name or 'there'},", "", "Evidence is waiting for your review:"]
    for c in courses:
        noun = "submission" if c.count == 1 else "submissions"
        lines.append(f"- {c.title}: {c.count} {noun}, the oldest waiting {waiting_age(c.oldest, now)}")
    lines += ["", f"Open the tool from your course to review them ({current().base_url}/assess/).", ""]
    return subject, "\n".join(lines)


def notify_waiting_work(db: Database, now: datetime | None = None) -> DigestResult:
    """One digest e-mail per assessor with work waiting, unless they were told within ``digest_hours``.

    The dedupe key names the assessor and the window (``now`` // ``digest_hours``), so two schedulers
    running at once write one e-mail; the look-back keeps two windows' e-mails ``digest_hours`` apart."""
    settings = current()
    result = DigestResult()
    if not settings.enabled:
        return result
    now = now or utcnow()
    period = timedelta(hours=max(settings.digest_hours, 1))
    window = int(now.timestamp() // period.total_seconds())
    with db.read() as session:
        context_ids = list(
            session.scalars(
                select(Submission.context_id)
                .where(Submission.state == SubmissionState.SUBMITTED.value)
                .distinct()
            )
        )
        assessors = _assessors(session, context_ids) if context_ids else {}
    for assessor_id, contexts in sorted(assessors.items()):
        with db.transaction() as session:
            user = session.get(User, assessor_id)
            if user is None:
                continue
            last = session.scalar(
                select(func.max(EmailMessage.created_at)).where(
                    EmailMessage.to_user_id == assessor_id, EmailMessage.kind == KIND_WAITING
                )
            )
            if last is not None and now - last < period:
                result.recently_told += 1
                continue
            courses = _waiting_for(session, assessor_id, contexts)
            if not courses:
                continue
            if not (user.email or "").strip():
                result.no_address += 1
                continue
            subject, body = _digest(user, courses, now)
            written = queue_email(
                session,
                kind=KIND_WAITING,
                user=user,
                context_id=courses[0].context_id if len(courses) == 1 else None,
                subject=subject,
                body=body,
                dedupe_key=f"waiting_work:{assessor_id}:{window}",
            )
            if written is not None:
                written.created_at = now
                result.sent += 1
    log.info(
        "event=waiting_work_digest written=%s skipped_no_address=%s skipped_recent=%s",
        result.sent,
        result.no_address,
        result.recently_told,
    )
    return result


# --- what the development platform's mailbox shows ---------------------------------------------------


@dataclass(frozen=True)
class MailboxItem:
    id: int
    kind: str
    to_address: str
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None
    transport: str | None
    error: str | None


def mailbox(db: Database, limit: int = 200) -> list[MailboxItem]:
    """The newest e-mails first, sent or not."""
    with db.read() as session:
        rows = session.scalars(
            select(EmailMessage).order_by(EmailMessage.created_at.desc(), EmailMessage.id.desc()).limit(limit)
        )
        return [
            MailboxItem(
                m.id, m.kind, m.to_address, m.subject, m.body, m.created_at, m.sent_at, m.transport, m.error
            )
            for m in rows
        ]
