"""Accept an LTI launch in one transaction: verify it and consume its state (``launch.verify_launch``),
then record it (``services.launches.record_launch``). A refused launch rolls back and writes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jwt import PyJWK

from ..db import Database
from ..db.base import utcnow
from ..domain.placements import UNGRADED_PARAM, UNGRADED_VALUE
from ..services.launches import LaunchFacts, LaunchRecord, NonceReplayed, record_launch
from ..services.placements import TARGET_KINDS, PlacementFacts
from . import claims as c
from .errors import LtiRefused
from .jwks_cache import PlatformKeyCache
from .launch import KeyNotCached, VerifiedLaunch, verify_launch
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


def accept_launch(
    db: Database,
    keys: PlatformKeyCache,
    id_token: str,
    state: str,
    state_cookie: str | None = None,
    now: datetime | None = None,
    *,
    admins_are_designers: bool = False,
    storage_confirmed: bool = False,
) -> tuple[VerifiedLaunch, LaunchRecord]:
    """Verify and record a launch in one transaction; raises LtiRefused (nothing written) when refused.

    The platform's key comes from process memory. When it is not there (first launch of this process,
    expired set, rotated kid) the transaction is rolled back, the key is fetched outside it (never holding
    a write lock across HTTP), and the launch runs again with that key. ``admins_are_designers`` is the
    LMS_ADMINS_ARE_DESIGNERS setting (``roles.map_roles``).
    """
    fetched: dict[tuple[int, str, str], PyJWK] = {}

    def key_lookup(platform_id: int, jwks_url: str, kid: str) -> PyJWK:
        key = fetched.get((platform_id, jwks_url, kid)) or keys.cached(platform_id, jwks_url, kid)
        if key is None:
            raise KeyNotCached(platform_id, jwks_url, kid)
        return key

    for _attempt in range(3):
        try:
            with db.transaction() as session:
                when = now or utcnow()
                verified = verify_launch(
                    session,
                    key_lookup,
                    id_token,
                    state,
                    state_cookie,
                    when,
                    admins_are_designers=admins_are_designers,
                    storage_confirmed=storage_confirmed,
                )
                try:
                    return verified, record_launch(session, facts_of(verified), when)
                except NonceReplayed:
                    raise LtiRefused(
                        "nonce", "lti_replay", "This launch was already used; a launch can be used once."
                    ) from None
        except KeyNotCached as miss:
            # key_for refuses (check=signature) when the platform lacks the kid even after a refresh.
            fetched[(miss.platform_id, miss.jwks_url, miss.kid)] = keys.key_for(
                miss.platform_id, miss.jwks_url, miss.kid
            )
    # Only when the platform's key set URL changed under the launch, twice over.
    raise LtiRefused(
        "signature",
        "lti_jwks_unavailable",
        "The platform's public key set changed during the launch; try the launch again in a moment.",
        status=502,
    )
