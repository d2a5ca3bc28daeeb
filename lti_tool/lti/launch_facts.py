"""What a verified launch tells the launch service (``services.launches.LaunchFacts``): the user, the
course, its service endpoints, the roles, and a resource link's placement."""

from __future__ import annotations

from typing import Any

from ..domain.placements import UNGRADED_PARAM, UNGRADED_VALUE
from ..services.launches import LaunchFacts
from ..services.placements import TARGET_KINDS, PlacementFacts
from . import claims as c
from .launch import VerifiedLaunch
from .roles import is_instructor


def facts_of(launch: VerifiedLaunch) -> LaunchFacts:
    claims = launch.claims
    context = launch.context
    ags_claim, nrps_claim = claims.get(c.AGS_ENDPOINT), claims.get(c.NRPS)
    ags: dict[str, Any] = ags_claim if isinstance(ags_claim, dict) else {}
    nrps: dict[str, Any] = nrps_claim if isinstance(nrps_claim, dict) else {}
    name = claims.get("name") or " ".join(
        str(claims[k]) for k in ("given_name", "family_name") if claims.get(k)
    )
    memberships_url = nrps.get("context_memberships_url")
    lineitems_url = ags.get("lineitems")
    return LaunchFacts(
        platform_id=launch.platform_id,
        deployment_pk=launch.deployment_pk,
        nonce=launch.nonce,
        nonce_expires_at=launch.nonce_expires_at,
        sub=str(claims["sub"]),
        name=str(name or "")[:255],
        email=str(claims.get("email") or "")[:255],
        context_id=str(context["id"]),
        context_title=str(context.get("title") or "")[:255],
        context_label=str(context.get("label") or "")[:255],
        course_map=launch.custom.get("course_map") or None,
        memberships_url=str(memberships_url) if memberships_url else None,
        lineitems_url=str(lineitems_url) if lineitems_url else None,
        roles=tuple(sorted(launch.roles)),
        deep_linking_instructor=launch.message_type == c.DEEP_LINKING_REQUEST
        and is_instructor(launch.lti_roles),
        ags_scopes=ags_scopes_of(ags_claim),
        placement=placement_of(launch, ags),
    )


def ags_scopes_of(ags_claim: Any) -> str | None:
    """The AGS claim's scopes, sorted and space-separated ("" when it lists none); None without a claim."""
    if not isinstance(ags_claim, dict):
        return None
    listed = ags_claim.get("scope")
    scopes = (
        {s for s in listed if isinstance(s, str) and 0 < len(s) <= 255} if isinstance(listed, list) else set()
    )
    return " ".join(sorted(scopes)[:32])


def placement_of(launch: VerifiedLaunch, ags: dict[str, Any]) -> PlacementFacts | None:
    """A resource-link launch's placement: its resource link id, the stack or credential its custom
    parameters name, and the gradebook column its AGS claim offers (``lineitem``). Values too long for our
    columns are left out rather than cut, so two placements never collide on a truncated id."""
    link = launch.claims.get(c.RESOURCE_LINK)
    link_id = link.get("id") if isinstance(link, dict) else None
    if launch.message_type != c.RESOURCE_LINK_REQUEST or not isinstance(link_id, str | int):
        return None
    link_id = str(link_id)
    if not link_id or len(link_id) > 255:
        return None
    custom = launch.custom
    kind, key = next(((k, custom[k]) for k in TARGET_KINDS if custom.get(k)), (None, None))
    if key is not None and len(key) > 128:
        kind = key = None
    lineitem = ags.get("lineitem")
    lineitem_url = lineitem if isinstance(lineitem, str) and 0 < len(lineitem) <= 1024 else None
    # The picker places an item without a grade column with custom gradebook=none (domain.placements).
    graded = custom.get(UNGRADED_PARAM) != UNGRADED_VALUE
    return PlacementFacts(link_id, kind, key, lineitem_url, ags_scopes_of(ags) if ags else None, graded)
