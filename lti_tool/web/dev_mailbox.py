"""The development platform's mailbox (``GET /dev/platform/mailbox``, only when ``DEV_PLATFORM`` is on):
every notification e-mail the tool wrote, newest first, so ``make run`` shows what would have been sent."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, render_template

from ..services import notifications

bp = Blueprint("dev_mailbox", __name__, url_prefix="/dev/platform")


@bp.before_request
def _only_when_enabled() -> None:
    if not current_app.extensions["settings"].dev_platform:
        abort(404)


@bp.get("/mailbox")
def mailbox() -> str:
    return render_template(
        "dev_platform/mailbox.html",
        messages=notifications.mailbox(current_app.extensions["db"]),
        mode=notifications.current().mode,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
