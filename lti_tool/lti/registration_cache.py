"""An issuer's registrations, kept in process memory for a launch's first look (``launch_statement``).

A launch is checked against the registration its token is addressed to before anything is written. On
PostgreSQL that registration comes from here, and the statement that accepts the launch checks again, in
the database, that it is still active with the same client id, key set URL and deployment. A stale entry
(a registration deactivated or changed within the last minute, in another process) can therefore only send
a launch down the transactional path (``accept``), which reads the database, never accept one it would
refuse. Only found registrations are kept: an unknown issuer is looked up every time.
"""

from __future__ import annotations

import threading
import time

from ..db import Database
from .launch import Registration
from .registrations import REGISTRATIONS_OF_ISSUER

TTL_SECONDS = 60.0
MAX_ENTRIES = 1024


class RegistrationCache:
    def __init__(
        self, db: Database, ttl_seconds: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._max = max_entries
        self._lock = threading.Lock()
        # (issuer, deployment id) -> (monotonic expiry, registrations with that deployment's key if any)
        self._entries: dict[tuple[str, str], tuple[float, list[Registration]]] = {}

    def lookup(self, issuer: str, deployment_id: str) -> list[Registration]:
        """The issuer's active registrations, each with the named deployment's primary key when it has it."""
        key = (issuer, deployment_id)
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        with self._db.read_one_statement() as conn:
            found = [
                Registration(*row)
                for row in conn.execute(
                    REGISTRATIONS_OF_ISSUER, {"b_issuer": issuer, "b_deployment_id": deployment_id}
                )
            ]
        if found:
            with self._lock:
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[key] = (now + self._ttl, found)
        return found

    def forget(self, issuer: str) -> None:
        """Drop what is kept for the issuer (a launch the database did not confirm: look again next time)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == issuer]:
                del self._entries[key]
