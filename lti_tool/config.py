"""One settings object read from the environment; defaults give the embedded set-up.

Every variable is listed in README.md (Configuration).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    instance_path: Path
    database_url: str
    secret_key: str
    celery_broker_url: str | None
    celery_result_backend: str | None
    course_maps_dir: Path
    upload_dir: Path
    max_upload_bytes: int
    base_url: str
    dev_platform: bool
    session_cookie_secure: bool
    # Development mode (``make run``): platform URLs may be plain http:// and loopback/private hosts.
    development: bool = False
    # LMS (institution/system) administrators get designer rights in every course only when this is on.
    lms_admins_are_designers: bool = False
    # The most a learner may keep in uploaded artifacts in one course.
    learner_quota_bytes: int = 500 * 1024 * 1024
    # Origins besides the registered platforms' that may frame the tool (Content-Security-Policy).
    frame_ancestors: tuple[str, ...] = ()
    # Licensure office profiles (licensure_offices/<key>.yaml), read and checked at start-up.
    offices_dir: Path = REPO_ROOT / "licensure_offices"
    # How long a claimed outbox message stays hidden from other drainers: longer than any one delivery may
    # take (an office push: 5 s connect + 15 s read), or a slow delivery is sent twice.
    outbox_lease_seconds: int = 120
    # The pull API shows an office only record events at least this old, so that none committing late (out
    # of id order) is ever stepped past by a cursor.
    office_pull_settle_seconds: int = 5
    # Who issues the records: named on certificates, badges (the issuer profile) and office records.
    provider_name: str = "Micro-credential Stacks"
    # Who new badges name as issuer: "did:key" (the signing key) or "https" (the profile at /badges/issuer).
    badge_issuer: str = "did:key"
    # E-mail notifications: off | mailbox (kept for the development platform's mailbox page) | smtp.
    notifications: str = "off"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)  # a secret: never in a repr or a log line
    smtp_starttls: bool = True
    # The CA certificates (PEM) that STARTTLS trusts instead of the system's, e.g. an internal relay's CA.
    smtp_ca_file: str = ""
    mail_from: str = "Micro-credential Stacks <no-reply@localhost>"
    # At most one "submissions waiting" e-mail per assessor in this many hours.
    notify_digest_hours: int = 24
    # Opening a submission to review it holds it for the assessor this long (others are told, not blocked).
    claim_minutes: int = 30
    # A course of 5,000 learners or more that keeps changing has its dashboard counts recomputed at most
    # this often (services/course_report.py); smaller courses always see current counts.
    report_max_age_seconds: int = 60
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tasks_in_process(self) -> bool:
        return not self.celery_broker_url

    @classmethod
    def from_env(cls, instance_path: Path, overrides: dict[str, Any] | None = None) -> Settings:
        env = dict(os.environ)
        env.update({k: str(v) for k, v in (overrides or {}).items() if v is not None and k.isupper()})
        instance_path.mkdir(parents=True, exist_ok=True)
        secret = env.get("SECRET_KEY") or _instance_secret(instance_path)
        port = env.get("PORT", "5000")
        base_url = (env.get("BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/")
        development = _bool(env.get("DEVELOPMENT"), False)
        dev_platform = _bool(env.get("DEV_PLATFORM"), development)
        return cls(
            instance_path=instance_path,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'lti_tool.sqlite3'}",
            secret_key=secret,
            celery_broker_url=env.get("CELERY_BROKER_URL") or None,
            celery_result_backend=env.get("CELERY_RESULT_BACKEND") or None,
            course_maps_dir=Path(env.get("COURSE_MAPS_DIR") or REPO_ROOT / "course_maps"),
            upload_dir=Path(env.get("UPLOAD_DIR") or instance_path / "uploads"),
            max_upload_bytes=int(env.get("MAX_UPLOAD_MB", "50")) * 1024 * 1024,
            base_url=base_url,
            dev_platform=dev_platform,
            # Inside an LMS iframe the session cookie must be SameSite=None; Secure, which needs HTTPS.
            session_cookie_secure=_bool(env.get("SESSION_COOKIE_SECURE"), base_url.startswith("https://")),
            development=development,
            lms_admins_are_designers=_bool(env.get("LMS_ADMINS_ARE_DESIGNERS"), False),
            learner_quota_bytes=int(env.get("LEARNER_QUOTA_MB", "500")) * 1024 * 1024,
            frame_ancestors=tuple((env.get("FRAME_ANCESTORS") or "").split()),
            offices_dir=Path(env.get("OFFICES_DIR") or REPO_ROOT / "licensure_offices"),
            outbox_lease_seconds=int(env.get("OUTBOX_LEASE_SECONDS") or "120"),
            office_pull_settle_seconds=int(env.get("OFFICE_PULL_SETTLE_SECONDS") or "5"),
            provider_name=(env.get("PROVIDER_NAME") or "Micro-credential Stacks").strip(),
            badge_issuer=_badge_issuer(env.get("BADGE_ISSUER")),
            # The mailbox is the default only where DEV_PLATFORM is set on (``make run``), not merely implied.
            notifications=_notifications_mode(
                env.get("NOTIFICATIONS"), _bool(env.get("DEV_PLATFORM"), False)
            ),
            smtp_host=env.get("SMTP_HOST") or "localhost",
            smtp_port=int(env.get("SMTP_PORT") or "587"),
            smtp_user=env.get("SMTP_USER") or "",
            smtp_password=env.get("SMTP_PASSWORD") or "",
            smtp_starttls=_bool(env.get("SMTP_STARTTLS"), True),
            smtp_ca_file=(env.get("SMTP_CA_FILE") or "").strip(),
            mail_from=env.get("MAIL_FROM") or "Micro-credential Stacks <no-reply@localhost>",
            notify_digest_hours=int(env.get("NOTIFY_DIGEST_HOURS") or "24"),
            claim_minutes=int(env.get("CLAIM_MINUTES") or "30"),
            report_max_age_seconds=int(env.get("REPORT_MAX_AGE_SECONDS") or "60"),
            extra={k: v for k, v in (overrides or {}).items() if not k.isupper()},
        )


def _notifications_mode(value: str | None, dev_platform: bool) -> str:
    """off | mailbox | smtp; unset means the development platform's mailbox when that is on, else off."""
    mode = (value or ("mailbox" if dev_platform else "off")).strip().lower()
    if mode not in {"off", "mailbox", "smtp"}:
        raise ValueError(f"NOTIFICATIONS must be off, mailbox or smtp, not {value!r}")
    return mode


def _badge_issuer(value: str | None) -> str:
    """did:key (the default) | https."""
    mode = (value or "did:key").strip().lower()
    if mode not in {"did:key", "https"}:
        raise ValueError(f"BADGE_ISSUER must be did:key or https, not {value!r}")
    return mode


def _instance_secret(instance_path: Path) -> str:
    """A random secret kept in the instance folder: sessions survive restarts, no secret is committed."""
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
