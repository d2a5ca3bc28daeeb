"""The course roster from the platform (NRPS), so the designer dashboard knows who has not started.

Members are upserted as User + Membership rows, with the roles a launch would store (the course's listed
editors keep designer while they teach there: services/editors.py). A membership first seen in the roster gets
source='roster'; one a launch already created keeps source='launch' and only has its roles and status
refreshed. A roster member who has left the course is marked 'Deleted', never removed, so their evidence
stays attached.

Fetching is the LTI adapter's job (lti/nrps.py registers itself as the member source at app start): this
module only decides what the rows become.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from ..db import Database
from ..db.models import Context, Deployment, Membership, User
from ..domain.roles import with_editing
from .editors import listed_editor_ids
from .errors import NotFound, ServiceError


@dataclass(frozen=True)
class RosterMember:
    user_id: str  # the platform's id for the person (the launch's ``sub``)
    roles: tuple[str, ...]  # the tool's roles (learner / assessor / designer), as launches store them
    status: str = "Active"
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class RosterResult:
    members: int
    added: int
    updated: int
    deactivated: int = 0


MemberSource = Callable[[Database, int, str], Iterable[RosterMember]]
_source: list[MemberSource] = []


class RosterUnavailable(ServiceError):
    def __init__(self, message: str) -> None:
        super().__init__("roster_unavailable", message)


def set_member_source(source: MemberSource) -> None:
    """Called once at app start by the NRPS adapter."""
    _source[:] = [source]


def refresh_roster(db: Database, context_id: int) -> RosterResult:
    with db.read() as session:
        row = session.execute(
            select(Context.memberships_url, Deployment.platform_id)
            .join(Deployment, Deployment.id == Context.deployment_id)
            .where(Context.id == context_id)
        ).one_or_none()
    if row is None:
        raise NotFound("unknown_context", f"Context {context_id} does not exist.")
    if not row.memberships_url:
        raise RosterUnavailable("The platform did not offer its roster service (NRPS) for this course.")
    if not _source:
        raise RosterUnavailable("No roster source is configured.")
    members = list(_source[0](db, row.platform_id, row.memberships_url))
    return apply_roster(db, context_id, row.platform_id, members)


def apply_roster(
    db: Database, context_id: int, platform_id: int, members: list[RosterMember]
) -> RosterResult:
    """Upsert the members in one transaction; roster memberships no longer listed become 'Deleted'."""
    added = updated = deactivated = 0
    seen: set[int] = set()
    with db.transaction() as session:
        users = {
            u.sub: u
            for u in session.scalars(
                select(User).where(
                    User.platform_id == platform_id, User.sub.in_([m.user_id for m in members])
                )
            )
        }
        existing = {
            m.user_id: m
            for m in session.scalars(select(Membership).where(Membership.context_id == context_id))
        }
        # Roles as launches store them: the platform's, plus designer for the course's listed editors.
        listed = listed_editor_ids(session, context_id)
        for member in members:
            user = users.get(member.user_id)
            if user is None:
                user = User(platform_id=platform_id, sub=member.user_id, name=member.name, email=member.email)
                session.add(user)
                session.flush()
                users[member.user_id] = user
            else:
                user.name = member.name or user.name
                user.email = member.email or user.email
            roles = sorted(with_editing(member.roles, user.id in listed))
            membership = existing.get(user.id)
            if membership is None:
                session.add(
                    Membership(
                        context_id=context_id,
                        user_id=user.id,
                        roles=roles,
                        status=member.status,
                        source="roster",
                    )
                )
                added += 1
            elif sorted(membership.roles or []) != roles or membership.status != member.status:
                membership.roles = roles
                membership.status = member.status
                updated += 1
            seen.add(user.id)
        for user_id, membership in existing.items():
            if user_id not in seen and membership.source == "roster" and membership.status != "Deleted":
                membership.status = "Deleted"
                deactivated += 1
    return RosterResult(members=len(members), added=added, updated=updated, deactivated=deactivated)
