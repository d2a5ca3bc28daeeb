"""The records side through the services (SQLite, PostgreSQL): awards issued with the grant, an educator's
details and consent, office record events with each office's units, verification, certificate, revocation."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from types import MappingProxyType

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from lti_tool.config import REPO_ROOT
from lti_tool.db.models import AuditEvent, Grant, OutboxMessage
from lti_tool.db.records_models import Award, OfficeDelivery
from lti_tool.records.offices import load_offices
from lti_tool.services import (
    assessment,
    educator_records,
    evidence,
    public_records,
    records_settings,
    revocation,
)
from lti_tool.services.errors import Conflict, NotFound, ServiceError
from tests import scenario


@pytest.fixture(autouse=True)
def shipped_offices(db) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The shipped office profiles and a public URL, set after the app (if any) configured its own."""
    before = records_settings.current()
    offices = load_offices(REPO_ROOT / "licensure_offices")
    records_settings.configure(
        records_settings.RecordsSettings(
            base_url="https://tool.example.edu", offices=MappingProxyType(offices)
        )
    )
    yield
    records_settings.configure(before)


def _earn_stack(c: scenario.Course, learner: int, assessor: int, index: int = 0) -> list[str]:
    keys = list(c.map().stacks[index].credential_ids)
    for key in keys:
        scenario.earn(c, learner, assessor, key)
    return keys


def _awards(db, user_id: int) -> list[Award]:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return list(session.scalars(select(Award).where(Award.user_id == user_id).order_by(Award.id)))


def _deliveries(db) -> list[OfficeDelivery]:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return list(session.scalars(select(OfficeDelivery).order_by(OfficeDelivery.id)))


def _confirm(db, c: scenario.Course, learner: int, name: str = "Zoë Ångström") -> None:  # type: ignore[no-untyped-def]
    educator_records.save_profile(
        db, c.context_id, learner, legal_name=name, state="nc", licence_number="NC 1234567", confirm=True
    )


def test_fifth_credential_issues_a_badge_each_and_one_stack_record(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    keys = _earn_stack(c, learner, assessor)
    awards = _awards(db, learner)
    assert [a.kind for a in awards] == ["credential"] * 5 + ["stack"]
    assert {a.target_key for a in awards[:5]} == set(keys)
    stack = awards[-1]
    assert stack.ceus == Decimal("1.0") and stack.contact_hours == Decimal("10")
    assert [c_["key"] for c_ in stack.details["credentials"]] == keys
    assert stack.details["credential_count"] == 5 and stack.public_id.startswith("MCS-")
    # Nobody consented: no office hears anything.
    assert _deliveries(db) == []
    page = educator_records.records_page(db, c.context_id, learner)
    assert [r.title for r in page.records] == [c.map().stacks[0].title]
    units = {line.office.key: (line.units, line.unit) for line in page.records[0].offices}
    assert units == {
        "nc-dpi": (Decimal("1.0"), "renewal credit"),
        "md-bcps": (Decimal("2"), "CPD credits"),
        "nv-ccsd": (Decimal("3.3"), "contact units (CUs)"),
    }


def test_consent_needs_confirmed_details_then_sends_existing_records(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    _earn_stack(c, learner, assessor)
    with pytest.raises(ServiceError) as refused:
        educator_records.set_consent(db, c.context_id, learner, "nc-dpi", granted=True)
    assert refused.value.code == "profile_required" and refused.value.field == "legal_name"
    with pytest.raises(ServiceError) as unconfirmed:
        educator_records.save_profile(
            db, c.context_id, learner, legal_name="Lee", state="NC", licence_number="1", confirm=False
        )
    assert unconfirmed.value.field == "confirm"
    with pytest.raises(ServiceError) as bad_state:
        educator_records.save_profile(
            db, c.context_id, learner, legal_name="Lee", state="ZZ", licence_number="1", confirm=True
        )
    assert bad_state.value.field == "state"
    _confirm(db, c, learner)
    assert educator_records.set_consent(db, c.context_id, learner, "nc-dpi", granted=True) == 1
    # Giving it twice sends nothing twice.
    assert educator_records.set_consent(db, c.context_id, learner, "nc-dpi", granted=True) == 0
    (delivery,) = _deliveries(db)
    payload = delivery.payload
    assert payload["educator"] == {
        "legal_name": "Zoë Ångström",
        "state": "NC",
        "licence_number": "NC 1234567",
    }
    assert payload["office_units"]["amount"] == "1.0" and payload["award"]["ceus"] == "1.0"
    assert payload["verification_url"] == f"https://tool.example.edu/records/{payload['record_id']}"
    assert delivery.push_state is None  # the shipped NC profile is pulled, not pushed
    with pytest.raises(NotFound):
        educator_records.set_consent(db, c.context_id, learner, "nowhere", granted=True)


def test_units_follow_each_rule_across_an_educators_records(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    _confirm(db, c, learner)
    for office in ("md-bcps", "nv-ccsd"):
        educator_records.set_consent(db, c.context_id, learner, office, granted=True)
    for index in range(3):
        _earn_stack(c, learner, assessor, index)
    by_office: dict[str, list[str]] = {}
    for d in _deliveries(db):
        by_office.setdefault(d.office_key, []).append(d.payload["office_units"]["amount"])
    # Maryland: 5 credentials -> 2 credits (one left over), 10 -> 5, 15 -> 7; the course award (its
    # credentials already counted with the stacks) would add none.
    assert by_office["md-bcps"] == ["2", "3", "2"]  # its profile counts stack records only
    # Clark County: 10 h / 3 = 3.3 CU per stack; the course award adds no hours.
    assert by_office["nv-ccsd"] == ["3.3", "3.3", "3.3", "0.0"]


def test_withdrawn_consent_stops_later_records(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    _confirm(db, c, learner)
    educator_records.set_consent(db, c.context_id, learner, "nc-dpi", granted=True)
    _earn_stack(c, learner, assessor, 0)
    educator_records.set_consent(db, c.context_id, learner, "nc-dpi", granted=False)
    _earn_stack(c, learner, assessor, 1)
    assert len(_deliveries(db)) == 1
    with db.read() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("consent.%"))))
    assert actions == ["consent.granted", "consent.withdrawn"]


def test_verification_shows_nothing_private_and_the_certificate_prints(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    _earn_stack(c, learner, assessor)
    _confirm(db, c, learner, "Дмитрий Иванов")
    stack = _awards(db, learner)[-1]
    seen = public_records.verification(db, stack.public_id.lower())
    assert seen.valid and seen.holder == "Дмитрий Иванов" and seen.ceus == Decimal("1.0")
    assert "1234567" not in repr(seen)
    pdf, name = public_records.certificate_pdf(db, learner, stack.public_id)
    assert name == f"certificate-{stack.public_id}.pdf"
    import io

    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Дмитрий Иванов" in text and stack.public_id in text
    other = c.person("Someone else")
    with pytest.raises(NotFound):
        public_records.certificate_pdf(db, other, stack.public_id)
    with pytest.raises(NotFound):
        public_records.verification(db, "MCS-NOSUCHTHING")


def test_revoking_a_credential_revokes_its_grant_tells_offices_and_can_be_earned_again(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    _confirm(db, c, learner)
    educator_records.set_consent(db, c.context_id, learner, "nc-dpi", granted=True)
    keys = _earn_stack(c, learner, assessor)
    credential_award = next(a for a in _awards(db, learner) if a.target_key == keys[2])
    stack_award = _awards(db, learner)[-1]
    with pytest.raises(ServiceError) as not_this:
        revocation.revoke_credential(db, stack_award.public_id, "misconduct")
    assert not_this.value.code == "revoke_a_credential"
    with pytest.raises(ServiceError):
        revocation.revoke_credential(db, credential_award.public_id, "   ")
    done = revocation.revoke_credential(
        db, credential_award.public_id, "Artifact was not the educator's own work.", actor="operator"
    )
    assert done.revoked_records == [credential_award.public_id, stack_award.public_id]
    assert done.offices_notified == 1
    assert not public_records.verification(db, stack_award.public_id).valid
    assert not public_records.verification(db, credential_award.public_id).valid
    with db.read() as session:
        grant = session.scalars(select(Grant)).one()
        topics = list(session.scalars(select(OutboxMessage.topic)))
    assert grant.revoked_at is not None and grant.revoked_reason
    assert topics.count("gradebook.credential") >= 6
    events = [(d.event, d.payload["record_id"]) for d in _deliveries(db)]
    assert events == [("issued", stack_award.public_id), ("revoked", stack_award.public_id)]
    assert _deliveries(db)[-1].payload["revocation_reason"] == "Artifact was not the educator's own work."
    with pytest.raises(Conflict):
        revocation.revoke_credential(db, credential_award.public_id, "again")
    page = educator_records.records_page(db, c.context_id, learner)
    assert page.records[0].revoked_at is not None and page.records[0].offices == []
    # The learner resubmits and earns it again: a new credential award and a new live grant and record.
    resubmitted = evidence.submit(db, c.context_id, learner, keys[2])
    assert resubmitted.latest_feedback and resubmitted.latest_feedback.decision == "revoked"
    sid = scenario.submission_id(c, learner, keys[2])
    assessment.decide(db, c.context_id, sid, assessor, scenario.passing_scores(c, keys[2]), "")
    awards = _awards(db, learner)
    live = [a for a in awards if a.revoked_at is None and a.kind == "stack"]
    assert len(live) == 1 and live[0].public_id != stack_award.public_id
    with db.read() as session:
        assert session.scalar(select(Grant).where(Grant.revoked_at.is_(None))) is not None
    assert [d.event for d in _deliveries(db)] == ["issued", "revoked", "issued"]


def test_badges_are_signed_once_and_revocation_shows_in_the_status_list(db) -> None:  # type: ignore[no-untyped-def]
    from lti_tool.records.ob3 import did_key, signing, status_list
    from lti_tool.services import badges

    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    keys = _earn_stack(c, learner, assessor)
    credential_award = next(a for a in _awards(db, learner) if a.target_key == keys[0])
    stack_award = _awards(db, learner)[-1]
    first = badges.badge(db, credential_award.public_id)
    assert badges.badge(db, credential_award.public_id.lower()) == first  # kept, not signed again
    stack = badges.badge(db, stack_award.public_id)
    for document in (first, stack):
        assert signing.verify(document, did_key.resolve_did_key)
        assert document["issuer"]["id"].startswith("did:key:z6Mk")  # type: ignore[index]
    achievement = stack["credentialSubject"]["achievement"]  # type: ignore[index]
    assert achievement["achievementType"] == "MicroCredential" and achievement["name"] == stack_award.title
    tampered = {**first, "name": "Something else"}
    assert not signing.verify(tampered, did_key.resolve_did_key)
    entry = first["credentialStatus"]  # type: ignore[index]
    key_id, number = (int(part) for part in entry["statusListCredential"].rsplit("/", 2)[1:])
    listing = badges.status_list_credential(db, key_id, number)
    assert signing.verify(listing, did_key.resolve_did_key)
    assert status_list.revoked_in(listing) == set()
    revocation.revoke_credential(db, credential_award.public_id, "Overturned on appeal.")
    listing = badges.status_list_credential(db, key_id, number)
    assert status_list.revoked_in(listing) == {
        credential_award.id % badges.LIST_SIZE,
        stack_award.id % badges.LIST_SIZE,
    }
    # A rotated key signs new badges; old ones still verify (did:key resolves offline).
    badges.rotate_key(db)
    assert signing.verify(badges.badge(db, stack_award.public_id), did_key.resolve_did_key)
    assert len(badges.keys(db)) == 2
    # The retired key still signs its own list (a verifier wants the list's issuer to be the badge's).
    old_list = badges.status_list_credential(db, key_id, number)
    assert old_list["issuer"] == first["issuer"]["id"]  # type: ignore[index]
    assert signing.verify(old_list, did_key.resolve_did_key) and status_list.revoked_in(old_list)
