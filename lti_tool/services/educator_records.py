"""The educator's side of their records: the details certificates and offices need (legal name, state,
licence number, confirmed by the educator), which offices may receive their records, and the records page
(every grant with its credentials, hours, CEUs and what each office counts it as)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from ..db import Database
from ..db.base import utcnow
from ..db.models import User
from ..db.records_models import Award, EducatorProfile, OfficeConsent
from ..domain.licensure import OfficeProfile, accepts, describe_office, units_table
from . import audit
from .errors import NotFound, ServiceError
from .records import CREDENTIAL, facts_of, queue_office_records
from .records_settings import current
from .scope import lock_learner

_STATE_CODES = """AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV
NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI"""
US_STATES = frozenset(_STATE_CODES.split())  # noqa: SIM905
_LICENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{0,63}$")


@dataclass(frozen=True)
class ProfileView:
    legal_name: str
    state: str
    licence_number: str
    confirmed_at: datetime | None
    lms_name: str


@dataclass(frozen=True)
class OfficeLine:
    office: OfficeProfile
    units: Decimal
    unit: str
    consented: bool


@dataclass(frozen=True)
class RecordView:
    public_id: str
    kind: str
    title: str
    course_title: str
    credentials: list[dict[str, str | None]]
    contact_hours: Decimal
    ceus: Decimal
    issued_at: datetime
    revoked_at: datetime | None
    offices: list[OfficeLine]


@dataclass(frozen=True)
class BadgeView:
    public_id: str
    title: str
    course_title: str
    issued_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class RecordsPage:
    profile: ProfileView
    records: list[RecordView]
    badges: list[BadgeView]
    offices: list[tuple[OfficeProfile, str, bool]]  # office, its rule in words, consented


def clean_name(value: str) -> str:
    """A legal name as printed: normalised (NFC), control and bidi-override characters removed, spaces
    collapsed. Any script is kept."""
    text = unicodedata.normalize("NFC", value)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cf"} or ch == " ")
    return " ".join(text.split())


def _profile_view(session_profile: EducatorProfile | None, user: User | None) -> ProfileView:
    lms_name = user.name if user is not None else ""
    if session_profile is None:
        return ProfileView(lms_name, "", "", None, lms_name)
    p = session_profile
    return ProfileView(p.legal_name, p.state, p.licence_number, p.confirmed_at, lms_name)


def records_page(db: Database, context_id: int, user_id: int) -> RecordsPage:
    offices = current().offices
    with db.read() as session:
        user = session.get(User, user_id)
        profile = session.scalar(select(EducatorProfile).where(EducatorProfile.user_id == user_id))
        consented = set(
            session.scalars(
                select(OfficeConsent.office_key).where(
                    OfficeConsent.user_id == user_id, OfficeConsent.withdrawn_at.is_(None)
                )
            )
        )
        # Office units depend on the educator's records in every course (caps, leftover credentials).
        every = list(
            session.scalars(
                select(Award)
                .where(Award.user_id == user_id, Award.kind != CREDENTIAL, Award.revoked_at.is_(None))
                .order_by(Award.issued_at, Award.id)
            )
        )
        units: dict[tuple[str, str], Decimal] = {}
        for office in offices.values():
            for facts, amount in units_table(office, [facts_of(a) for a in every]):
                units[(office.key, facts.record_id)] = amount
        awards = list(
            session.scalars(
                select(Award)
                .where(Award.user_id == user_id, Award.context_id == context_id)
                .order_by(Award.issued_at, Award.id)
            )
        )
        records, badges = [], []
        for a in awards:
            course_title = str(a.details.get("course_title", ""))
            if a.kind == CREDENTIAL:
                badges.append(BadgeView(a.public_id, a.title, course_title, a.issued_at, a.revoked_at))
                continue
            lines = []
            if a.revoked_at is None:
                for o in offices.values():
                    if accepts(o, facts_of(a)):
                        amount = units[(o.key, a.public_id)]
                        lines.append(OfficeLine(o, amount, o.unit_name(amount), o.key in consented))
            records.append(
                RecordView(
                    a.public_id,
                    a.kind,
                    a.title,
                    course_title,
                    list(a.details.get("credentials", [])),
                    a.contact_hours or Decimal(0),
                    a.ceus or Decimal(0),
                    a.issued_at,
                    a.revoked_at,
                    lines,
                )
            )
        return RecordsPage(
            _profile_view(profile, user),
            records,
            badges,
            [(o, describe_office(o), o.key in consented) for o in offices.values()],
        )


def save_profile(
    db: Database,
    context_id: int,
    user_id: int,
    *,
    legal_name: str,
    state: str,
    licence_number: str,
    confirm: bool,
) -> ProfileView:
    """Save what the educator typed; ``confirm`` is their statement that it is right (required before an
    office may receive anything). Problems are refused with the field they concern."""
    name = clean_name(legal_name)
    state = state.strip().upper()
    licence = " ".join(licence_number.split())
    if not name:
        raise ServiceError(
            "legal_name_required", "Enter your legal name as it should print.", field="legal_name"
        )
    if len(name) > 200:
        raise ServiceError(
            "legal_name_too_long", "A legal name is at most 200 characters.", field="legal_name"
        )
    if state and state not in US_STATES:
        raise ServiceError("unknown_state", "Choose the state that issued your licence.", field="state")
    if licence and not _LICENCE.match(licence):
        raise ServiceError(
            "bad_licence_number",
            "A licence number has letters, digits, spaces, dots, dashes or slashes (at most 64).",
            field="licence_number",
        )
    if not confirm:
        raise ServiceError(
            "not_confirmed", "Tick the box to confirm these details are yours and correct.", field="confirm"
        )
    with db.transaction() as session:
        lock_learner(session, context_id, user_id)
        profile = session.scalar(select(EducatorProfile).where(EducatorProfile.user_id == user_id))
        if profile is None:
            profile = EducatorProfile(user_id=user_id, legal_name=name)
            session.add(profile)
        changed = (profile.legal_name, profile.state, profile.licence_number) != (name, state, licence)
        profile.legal_name, profile.state, profile.licence_number = name, state, licence
        profile.confirmed_at = utcnow()
        profile.updated_at = profile.confirmed_at
        session.flush()
        if changed or profile.confirmed_at:
            # The licence number itself stays out of the audit trail: only that it changed.
            audit.record(
                session,
                action="profile.confirmed",
                subject_type="educator_profile",
                subject_id=profile.id,
                actor_user_id=user_id,
                context_id=context_id,
                data={"state": state, "licence_number_set": bool(licence), "changed": changed},
            )
        user = session.get(User, user_id)
        return _profile_view(profile, user)


def set_consent(db: Database, context_id: int, user_id: int, office_key: str, *, granted: bool) -> int:
    """Give or withdraw consent for one office. Giving it sends the office the educator's existing live
    records it counts (returns how many were queued); withdrawing stops every later delivery."""
    office = current().offices.get(office_key)
    if office is None:
        raise NotFound("unknown_office", "No such licensure office.")
    with db.transaction() as session:
        lock_learner(session, context_id, user_id)
        profile = session.scalar(select(EducatorProfile).where(EducatorProfile.user_id == user_id))
        if granted and (profile is None or profile.confirmed_at is None):
            raise ServiceError(
                "profile_required",
                "Confirm your legal name, state and licence number first: an office files records by them.",
                field="legal_name",
            )
        consent = session.scalar(
            select(OfficeConsent).where(
                OfficeConsent.user_id == user_id, OfficeConsent.office_key == office_key
            )
        )
        now = utcnow()
        if granted:
            if consent is None:
                consent = OfficeConsent(user_id=user_id, office_key=office_key, granted_at=now)
                session.add(consent)
            elif consent.withdrawn_at is not None:
                consent.granted_at, consent.withdrawn_at = now, None
            else:
                return 0
        else:
            if consent is None or consent.withdrawn_at is not None:
                return 0
            consent.withdrawn_at = now
        session.flush()
        audit.record(
            session,
            action="consent.granted" if granted else "consent.withdrawn",
            subject_type="office_consent",
            subject_id=consent.id,
            actor_user_id=user_id,
            context_id=context_id,
            data={"office": office_key},
        )
        if not granted:
            return 0
        awards = session.scalars(
            select(Award)
            .where(Award.user_id == user_id, Award.kind != CREDENTIAL, Award.revoked_at.is_(None))
            .order_by(Award.issued_at, Award.id)
        )
        return len(queue_office_records(session, user_id, list(awards), offices=[office_key]))
