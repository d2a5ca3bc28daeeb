"""The verified deep-linking settings of the current session, for the picker view and its signed response.

Kept in the Flask session and, for iframes without cookies, in a signed ``dl`` token carried in the URL
(like the actor's ``lt``). Only a verified LtiDeepLinkingRequest launch stores them. The answer is
single-use server-side: ``answered()`` records the request's id in ``deep_link_responses`` (unique), so
neither the same browser (the ``dl`` token outlives the session's copy) nor another can answer twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, request, session
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..db.base import utcnow
from ..db.lti_models import DeepLinkResponse

SESSION_KEY = "lti_deep_link"
TOKEN_PARAM = "dl"
MAX_AGE = 3600


@dataclass(frozen=True)
class DeepLinkSettings:
    deep_link_return_url: str
    data: str | None
    accept_types: tuple[str, ...]
    accept_multiple: bool
    accept_presentation_document_targets: tuple[str, ...]
    title: str
    text: str
    issuer: str
    client_id: str
    deployment_id: str
    platform_id: int
    context_pk: int
    user_id: int
    # Minted by the launch; the deep_link_responses row keyed on it makes the answer single-use.
    request_id: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["accept_types"] = list(self.accept_types)
        data["accept_presentation_document_targets"] = list(self.accept_presentation_document_targets)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeepLinkSettings:
        return cls(
            deep_link_return_url=str(data["deep_link_return_url"]),
            data=data.get("data"),
            accept_types=tuple(data.get("accept_types") or ()),
            accept_multiple=bool(data.get("accept_multiple", False)),
            accept_presentation_document_targets=tuple(
                data.get("accept_presentation_document_targets") or ()
            ),
            title=str(data.get("title") or ""),
            text=str(data.get("text") or ""),
            issuer=str(data["issuer"]),
            client_id=str(data["client_id"]),
            deployment_id=str(data["deployment_id"]),
            platform_id=int(data["platform_id"]),
            context_pk=int(data["context_pk"]),
            user_id=int(data["user_id"]),
            request_id=str(data["request_id"]),
        )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="lti-tool-deep-link")


def remember(settings: DeepLinkSettings) -> str:
    """Store the settings for this session; returns the URL token for cookie-less iframes."""
    session[SESSION_KEY] = settings.to_dict()
    return _serializer().dumps(settings.to_dict())


def current_deep_link() -> DeepLinkSettings | None:
    """What the verified deep-linking launch of this session asked for, or None."""
    token = request.args.get(TOKEN_PARAM) or request.form.get(TOKEN_PARAM)
    if token:
        try:
            return DeepLinkSettings.from_dict(_serializer().loads(token, max_age=MAX_AGE))
        except (BadSignature, KeyError, ValueError, TypeError):
            return None
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        return DeepLinkSettings.from_dict(data)
    except (KeyError, ValueError, TypeError):
        return None


def forget() -> None:
    """Drop the settings from this session (the server-side single-use mark is ``answered``'s)."""
    session.pop(SESSION_KEY, None)


def answered(db: Database, dl: DeepLinkSettings) -> bool:
    """Record that ``dl``'s request is being answered; False when it was answered before (any browser)."""
    now = utcnow()
    try:
        with db.transaction() as tx:
            tx.add(
                DeepLinkResponse(
                    request_id=dl.request_id,
                    platform_id=dl.platform_id,
                    context_id=dl.context_pk,
                    user_id=dl.user_id,
                    responded_at=now,
                    expires_at=now + timedelta(seconds=MAX_AGE),
                )
            )
    except IntegrityError:
        return False
    return True
