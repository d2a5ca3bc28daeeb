"""Names and Role Provisioning Service: read a course's members, following ``Link: rel="next"`` paging."""

from __future__ import annotations

import logging
from typing import Any

from ..db import Database
from ..services.roster import RosterMember
from .roles import map_roles
from .service_token import SCOPE_NRPS, ServiceError, parse_json_body, service_request

log = logging.getLogger("lti_tool.lti.nrps")

MEDIA_MEMBERSHIPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 500


def _member(raw: dict[str, Any], admins_are_designers: bool = False) -> RosterMember | None:
    user_id = raw.get("user_id")
    if not user_id:
        return None
    roles = raw.get("roles")
    if not isinstance(roles, list):
        roles = []
    return RosterMember(
        user_id=str(user_id),
        roles=tuple(sorted(map_roles(roles, admins_are_designers=admins_are_designers))),
        status=str(raw.get("status") or "Active"),
        name=str(
            raw.get("name") or " ".join(p for p in (raw.get("given_name"), raw.get("family_name")) if p)
        ),
        email=str(raw.get("email") or ""),
    )


def fetch_members(
    db: Database, platform_id: int, memberships_url: str, *, admins_are_designers: bool = False
) -> list[RosterMember]:
    """Every member on every page. A user listed twice (paging over a changing roster) counts once.

    Roles are mapped as for launches (``roles.map_roles``): only course roles count, and LMS administrators
    are designers only with ``admins_are_designers`` (the LMS_ADMINS_ARE_DESIGNERS setting).
    """
    members: dict[str, RosterMember] = {}
    url: str | None = memberships_url
    seen_urls: set[str] = set()
    while url and url not in seen_urls and len(seen_urls) < MAX_PAGES:
        seen_urls.add(url)
        response = service_request(db, platform_id, (SCOPE_NRPS,), "GET", url, accept=MEDIA_MEMBERSHIPS)
        if response.status_code != 200:
            raise ServiceError(f"GET {url} answered HTTP {response.status_code}", response.status_code)
        body = parse_json_body(response)
        raw_members = body.get("members", []) if isinstance(body, dict) else []
        for raw in raw_members:
            member = _member(raw, admins_are_designers) if isinstance(raw, dict) else None
            if member is not None:
                members[member.user_id] = member
        nxt = response.links.get("next")
        url = str(nxt["url"]) if nxt and nxt.get("url") else None
    log.info(
        "event=roster_fetched platform_id=%s members=%s pages=%s", platform_id, len(members), len(seen_urls)
    )
    return list(members.values())
