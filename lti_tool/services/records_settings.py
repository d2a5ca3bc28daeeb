"""What the records side needs to know about this installation: its public URL, the provider named on
certificates and records, and the licensure office profiles. Set once at start-up (``create_app``) so the
services that issue records inside a grant's transaction need no Flask."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..domain.licensure import OfficeProfile

DEFAULT_PROVIDER = "Micro-credential Stacks"
DID_KEY_ISSUER = "did:key"
HTTPS_ISSUER = "https"
BADGE_ISSUERS = (DID_KEY_ISSUER, HTTPS_ISSUER)


@dataclass(frozen=True)
class RecordsSettings:
    base_url: str = "http://127.0.0.1:5000"
    provider_name: str = DEFAULT_PROVIDER
    offices: Mapping[str, OfficeProfile] = field(default_factory=lambda: MappingProxyType({}))
    development: bool = False
    # Who new badges name as issuer: the signing key's did:key, or the profile served at /badges/issuer.
    badge_issuer: str = DID_KEY_ISSUER

    def record_url(self, public_id: str) -> str:
        return f"{self.base_url}/records/{public_id}"


_current = RecordsSettings()


def configure(settings: RecordsSettings) -> None:
    global _current
    _current = settings


def current() -> RecordsSettings:
    return _current
