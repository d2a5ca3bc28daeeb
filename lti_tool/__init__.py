"""Micro-credential Stacks: an LTI 1.3 tool. ``create_app()`` builds the Flask app; nothing runs at import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from .config import REPO_ROOT, Settings
    from .db import Database
    from .logging import configure_logging, install_request_id

    instance_path = Path((test_config or {}).get("INSTANCE_PATH") or REPO_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        instance_relative_config=True,
        template_folder="web/templates",
        static_folder="web/static",
    )
    settings = Settings.from_env(instance_path, test_config)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_SAMESITE="None" if settings.session_cookie_secure else "Lax",
        SESSION_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,
        # CSRF is checked by lti_tool.web.csrf, which also accepts the cookie-less launch token.
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    if test_config:
        app.config.update({k: v for k, v in test_config.items() if k.isupper()})
    app.extensions["settings"] = settings
    app.extensions["db"] = Database(settings.database_url)
    from .records.offices import load_offices

    # A malformed office file stops start-up here, with its file:line:column messages.
    app.extensions["offices"] = load_offices(settings.offices_dir, development=settings.development)

    from .web.sessions import init_app as init_sessions

    init_sessions(app)
    configure_logging()
    install_request_id(app)

    from .extensions import csrf

    csrf.init_app(app)
    from .web.csrf import install_csrf_check

    install_csrf_check(app)

    from .tasks.celery_app import init_celery

    init_celery(app)

    from .web import register_blueprints

    register_blueprints(app)

    from .cli import register_commands

    register_commands(app)

    from .lti.ags import init_app as init_ags

    init_ags(app)
    from .services import office_delivery, records_settings

    # The records services run inside grants' transactions and in the worker, without Flask: they read
    # the offices and the public URL from here.
    records_settings.configure(
        records_settings.RecordsSettings(
            base_url=settings.base_url,
            provider_name=settings.provider_name,
            offices=app.extensions["offices"],
            development=settings.development,
            badge_issuer=settings.badge_issuer,
        )
    )
    office_delivery.register()
    from .services import mail_delivery, notifications

    notifications.configure(
        notifications.NotificationSettings(
            mode=settings.notifications,
            base_url=settings.base_url,
            mail_from=settings.mail_from,
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_user=settings.smtp_user,
            smtp_password=settings.smtp_password,
            smtp_starttls=settings.smtp_starttls,
            smtp_ca_file=settings.smtp_ca_file,
            digest_hours=settings.notify_digest_hours,
        )
    )
    mail_delivery.register()
    return app
