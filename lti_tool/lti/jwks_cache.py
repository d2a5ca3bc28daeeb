"""The platforms' public keys, fetched once per cache lifetime and shared by every process.

Two layers: parsed keys in process memory (no I/O on a warm launch) and the ``platform_key_sets`` row
(another worker's fetch serves this one). A ``kid`` the cached set does not hold triggers exactly one
refresh, then the launch is refused if the key is still unknown; refreshes for unknown kids are spaced by
``min_refresh_seconds`` so forged headers cannot make us hammer a platform.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from jwt import PyJWK
from jwt.exceptions import PyJWKError
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..db.base import utcnow
from ..db.lti_models import PlatformKeySet
from ..url_policy import check_platform_url
from .errors import LtiRefused

log = logging.getLogger("lti_tool.lti")

DEFAULT_LIFETIME = timedelta(hours=1)
MIN_LIFETIME = timedelta(minutes=1)
MAX_LIFETIME = timedelta(hours=24)

LocalSource = Callable[[], dict[str, Any]]


@dataclass
class _Entry:
    url: str
    keys: dict[str, PyJWK]
    fetched_at: datetime
    expires_at: datetime


@dataclass
class PlatformKeyCache:
    db: Database
    min_refresh_seconds: float = 5.0
    timeout: float = 5.0
    # Development mode allows http:// and local key set URLs (url_policy); otherwise they are refused.
    development: bool = False
    # JWKS documents served by this very process (the development platform): read in-process so a
    # single-worker server does not wait on itself.
    local_sources: dict[str, LocalSource] = field(default_factory=dict)
    _memory: dict[int, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _http: requests.Session = field(default_factory=requests.Session)
    fetches: int = 0

    def cached(self, platform_id: int, jwks_url: str, kid: str) -> PyJWK | None:
        """The key from process memory while its set is fresh, else None (no I/O, no lock)."""
        entry = self._memory.get(platform_id)
        if entry is not None and entry.url == jwks_url and entry.expires_at > utcnow():
            return entry.keys.get(kid)
        return None

    def key_for(self, platform_id: int, jwks_url: str, kid: str) -> PyJWK:
        """The platform's key ``kid``; refuses the launch (check=signature) when the platform has none."""
        now = utcnow()
        entry = self._memory.get(platform_id)
        if entry is not None and entry.url == jwks_url and entry.expires_at > now and kid in entry.keys:
            return entry.keys[kid]
        with self._lock:
            entry = self._memory.get(platform_id)
            fresh = entry is not None and entry.url == jwks_url and entry.expires_at > now
            if not fresh:
                entry = self._from_db(platform_id, jwks_url, now) or self._fetch(platform_id, jwks_url)
                fresh = True
            assert entry is not None
            if kid in entry.keys:
                return entry.keys[kid]
            # Unknown kid: the platform may have rotated its key. Another process may already have
            # the new set; else fetch once (not more often than min_refresh_seconds).
            stored = self._from_db(platform_id, jwks_url, now)
            if stored is not None and kid in stored.keys:
                return stored.keys[kid]
            if (now - entry.fetched_at).total_seconds() >= self.min_refresh_seconds:
                entry = self._fetch(platform_id, jwks_url)
                if kid in entry.keys:
                    return entry.keys[kid]
        raise LtiRefused(
            "signature",
            "lti_unknown_kid",
            f"The platform signed this launch with a key (kid {kid!r}) its key set does not publish.",
        )

    def forget(self, platform_id: int) -> None:
        self._memory.pop(platform_id, None)

    def _from_db(self, platform_id: int, jwks_url: str, now: datetime) -> _Entry | None:
        with self.db.read() as session:
            row = session.get(PlatformKeySet, platform_id)
            if row is None or row.jwks_url != jwks_url or row.expires_at <= now:
                return None
            entry = _Entry(jwks_url, _parse(row.keys), row.fetched_at, row.expires_at)
        self._memory[platform_id] = entry
        return entry

    def _fetch(self, platform_id: int, jwks_url: str) -> _Entry:
        self.fetches += 1
        now = utcnow()
        lifetime = DEFAULT_LIFETIME
        try:
            if jwks_url in self.local_sources:
                document = self.local_sources[jwks_url]()
            else:
                check_platform_url(jwks_url, "key set URL", development=self.development)
                response = self._http.get(
                    jwks_url,
                    timeout=self.timeout,
                    headers={"Accept": "application/json"},
                    allow_redirects=False,
                )
                response.raise_for_status()
                document = response.json()
                lifetime = _max_age(response.headers.get("Cache-Control", "")) or lifetime
            raw_keys = list(document["keys"])
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            log.warning("event=jwks_fetch_failed platform_id=%s url=%s error=%s", platform_id, jwks_url, exc)
            raise LtiRefused(
                "signature",
                "lti_jwks_unavailable",
                "The platform's public key set could not be fetched; try the launch again in a moment.",
                status=502,
            ) from exc
        lifetime = min(max(lifetime, MIN_LIFETIME), MAX_LIFETIME)
        entry = _Entry(jwks_url, _parse(raw_keys), now, now + lifetime)
        self._store(platform_id, jwks_url, raw_keys, now, now + lifetime)
        self._memory[platform_id] = entry
        log.info("event=jwks_fetched platform_id=%s keys=%s", platform_id, ",".join(sorted(entry.keys)))
        return entry

    def _store(
        self, platform_id: int, url: str, raw: list[Any], fetched: datetime, expires: datetime
    ) -> None:
        try:
            with self.db.transaction() as session:
                row = session.get(PlatformKeySet, platform_id)
                if row is None:
                    row = PlatformKeySet(platform_id=platform_id)
                    session.add(row)
                row.jwks_url, row.keys, row.fetched_at, row.expires_at = url, raw, fetched, expires
        except IntegrityError:
            pass  # another process stored its fetch at the same moment; either copy is current


def _parse(raw_keys: list[Any]) -> dict[str, PyJWK]:
    keys: dict[str, PyJWK] = {}
    for raw in raw_keys:
        if not isinstance(raw, dict) or raw.get("kty") != "RSA" or raw.get("use", "sig") != "sig":
            continue
        try:
            keys[str(raw.get("kid", ""))] = PyJWK(dict(raw, alg="RS256"))
        except PyJWKError:
            log.warning("event=jwks_key_skipped kid=%s", raw.get("kid"))
    return keys


def _max_age(cache_control: str) -> timedelta | None:
    match = re.search(r"max-age=(\d+)", cache_control)
    return timedelta(seconds=int(match.group(1))) if match else None
