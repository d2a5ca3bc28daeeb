"""Accept an LTI launch: on PostgreSQL, when every check can be made first, in one statement
(``launch_statement``); else, and for every launch that statement does not accept, in one transaction that
verifies it and consumes its state (``launch.verify_launch``) and records it
(``services.launches.record_launch``). A refused launch writes nothing."""

from __future__ import annotations

from datetime import datetime

from jwt import PyJWK

from ..db import Database
from ..db.base import utcnow
from ..services.launches import LaunchRecord, NonceReplayed, record_launch
from .errors import LtiRefused
from .jwks_cache import PlatformKeyCache
from .launch import KeyNotCached, VerifiedLaunch, verify_launch
from .launch_facts import facts_of
from .launch_statement import accept_in_one_statement
from .registration_cache import RegistrationCache


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
    registrations: RegistrationCache | None = None,
) -> tuple[VerifiedLaunch, LaunchRecord]:
    """Verify and record a launch in one transaction; raises LtiRefused (nothing written) when refused.

    The platform's key comes from process memory. When it is not there (first launch of this process,
    expired set, rotated kid) the transaction is rolled back, the key is fetched outside it (never holding
    a write lock across HTTP), and the launch runs again with that key. ``admins_are_designers`` is the
    LMS_ADMINS_ARE_DESIGNERS setting (``roles.map_roles``). With ``registrations`` (the app's
    ``RegistrationCache``) a PostgreSQL launch is first tried in one statement (``launch_statement``).
    """
    if registrations is not None:
        accepted = accept_in_one_statement(
            db,
            registrations,
            keys,
            id_token,
            state,
            state_cookie,
            now or utcnow(),
            admins_are_designers=admins_are_designers,
        )
        if accepted is not None:
            return accepted
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
