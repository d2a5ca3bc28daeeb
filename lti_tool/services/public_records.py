"""What anyone holding a record id may see (the verification page: valid or revoked, nothing private), and
what the educator downloads (the PDF certificate of a grant)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from ..db import Database
from ..db.models import User
from ..db.records_models import Award, EducatorProfile
from ..domain.licensure import accepts, units_table
from ..records.certificate import CertificateFacts, render_certificate
from .errors import NotFound
from .records import CREDENTIAL, facts_of
from .records_settings import current


@dataclass(frozen=True)
class Verification:
    public_id: str
    kind: str
    title: str
    holder: str
    provider: str
    course_title: str
    description: str
    credentials: list[dict[str, str | None]]
    contact_hours: Decimal | None
    ceus: Decimal | None
    issued_at: datetime
    revoked_at: datetime | None
    url: str

    @property
    def valid(self) -> bool:
        return self.revoked_at is None


def _holder(profile: EducatorProfile | None, user: User | None) -> str:
    """The name the educator confirmed for their records, else the LMS name: never an e-mail or licence."""
    if profile is not None and profile.confirmed_at is not None:
        return profile.legal_name
    return user.name if user is not None and user.name else "A learner"


def verification(db: Database, public_id: str) -> Verification:
    with db.read() as session:
        award = session.scalar(select(Award).where(Award.public_id == public_id.strip().upper()))
        if award is None:
            raise NotFound("unknown_record", "No record has this id. Check it against the certificate.")
        profile = session.scalar(select(EducatorProfile).where(EducatorProfile.user_id == award.user_id))
        holder = _holder(profile, session.get(User, award.user_id))
        d = award.details
        return Verification(
            award.public_id,
            award.kind,
            award.title,
            holder,
            str(d.get("provider", current().provider_name)),
            str(d.get("course_title", "")),
            str(d.get("description", "")),
            list(d.get("credentials", [])),
            award.contact_hours,
            award.ceus,
            award.issued_at,
            award.revoked_at,
            current().record_url(award.public_id),
        )


def _day(value: str | None, fallback: datetime) -> date:
    if not value:
        return fallback.date()
    return datetime.strptime(value[:10], "%Y-%m-%d").date()


def certificate_pdf(db: Database, user_id: int, public_id: str) -> tuple[bytes, str]:
    """The certificate of one of the educator's own live grants, and a file name for it."""
    settings = current()
    with db.read() as session:
        award = session.scalar(select(Award).where(Award.public_id == public_id, Award.user_id == user_id))
        if award is None or award.kind == CREDENTIAL:
            raise NotFound("unknown_record", "No certificate of yours has this record id.")
        if award.revoked_at is not None:
            raise NotFound("record_revoked", "This record was revoked; it has no certificate any more.")
        profile = session.scalar(select(EducatorProfile).where(EducatorProfile.user_id == user_id))
        holder = _holder(profile, session.get(User, user_id))
        others = list(
            session.scalars(
                select(Award)
                .where(Award.user_id == user_id, Award.kind != CREDENTIAL, Award.revoked_at.is_(None))
                .order_by(Award.issued_at, Award.id)
            )
        )
        lines = []
        for office in settings.offices.values():
            if not accepts(office, facts_of(award)):
                continue
            amount = dict((f.record_id, u) for f, u in units_table(office, [facts_of(a) for a in others]))
            units = amount[award.public_id]
            lines.append((office.name, units, office.unit_name(units)))
        details = award.details
        confirmed = profile is not None and profile.confirmed_at is not None
        facts = CertificateFacts(
            provider_name=str(details.get("provider", settings.provider_name)),
            course_title=str(details.get("course_title", "")),
            award_title=award.title,
            kind="course_award" if award.kind == "course_award" else "stack",
            credentials=tuple(
                (str(c["title"]), _day(c.get("earned_at"), award.issued_at))
                for c in details.get("credentials", [])
            ),
            contact_hours=award.contact_hours or Decimal(0),
            ceus=award.ceus or Decimal(0),
            issue_date=award.issued_at.date(),
            record_id=award.public_id,
            verification_url=settings.record_url(award.public_id),
            educator_name=holder,
            state=profile.state if confirmed and profile and profile.state else None,
            licence_number=profile.licence_number
            if confirmed and profile and profile.licence_number
            else None,
            office_lines=tuple(lines),
        )
    return render_certificate(facts), f"certificate-{award.public_id}.pdf"
