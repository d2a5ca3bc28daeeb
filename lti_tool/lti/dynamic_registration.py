"""LTI Dynamic Registration (1EdTech): read the platform's openid-configuration, post our client
registration with the registration token, and store the platform and the deployment it gives us."""

from __future__ import annotations

import json
import logging
from typing import Any

import requests

from ..db import Database
from ..url_policy import UnsafeUrl, check_platform_url, check_public_host, same_host
from . import claims as c
from .canvas import DESCRIPTION, TITLE
from .errors import LtiRefused
from .invites import claim_invite, complete_invite, release_invite
from .login import origin
from .registrations import PlatformInfo, save_platform

log = logging.getLogger("lti_tool.lti")


def tool_registration(base_url: str) -> dict[str, Any]:
    launch = base_url + "/lti/launch"
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": base_url + "/lti/login",
        "redirect_uris": [launch],
        "client_name": TITLE,
        "jwks_uri": base_url + "/lti/jwks.json",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(c.TOOL_SCOPES),
        c.TOOL_CONFIGURATION: {
            "domain": base_url.split("://", 1)[-1].split("/", 1)[0],
            "description": DESCRIPTION,
            "target_link_uri": launch,
            "custom_parameters": {"course_map": ""},
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [
                {"type": c.RESOURCE_LINK_REQUEST, "target_link_uri": launch, "label": TITLE},
                {
                    "type": c.DEEP_LINKING_REQUEST,
                    "target_link_uri": launch,
                    "label": "Add a stack or credential",
                    "placements": ["ContentArea"],
                },
            ],
        },
    }


def _refused(code: str, message: str, status: int = 400) -> LtiRefused:
    return LtiRefused("registration", code, message, status)


# The platform's answers are small JSON documents: anything larger or slower is refused.
MAX_RESPONSE_BYTES = 256 * 1024
TIMEOUT = (5.0, 10.0)  # connect, read
_PLATFORM_URLS = {
    "issuer": "the platform's issuer",
    "authorization_endpoint": "the platform's authorization endpoint",
    "token_endpoint": "the platform's token endpoint",
    "jwks_uri": "the platform's key set (jwks_uri)",
    "registration_endpoint": "the platform's registration endpoint",
}


def _json_from(response: requests.Response) -> Any:
    """The body as JSON, read up to MAX_RESPONSE_BYTES; larger bodies raise ValueError."""
    body = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
    if len(body) > MAX_RESPONSE_BYTES:
        raise ValueError(f"response larger than {MAX_RESPONSE_BYTES} bytes")
    return json.loads(body)


def _call(http: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
    """One request to the platform: no redirects followed, bounded in time and size; JSON back."""
    with http.request(method, url, timeout=TIMEOUT, allow_redirects=False, stream=True, **kwargs) as response:
        if response.status_code >= 300:
            raise requests.HTTPError(f"HTTP {response.status_code}", response=response)
        return _json_from(response)


def register(
    db: Database,
    base_url: str,
    openid_configuration: str,
    registration_token: str | None,
    invite: str | None,
    *,
    development: bool,
    http: requests.Session | None = None,
) -> PlatformInfo:
    """Register with the platform that started Dynamic Registration, under the operator's invite.

    The invite is claimed before anything is fetched (no invite, no request leaves the tool) and released
    if the registration fails. Refusals show a generic message; the detail goes to the log only."""
    invite_id = claim_invite(db, invite)
    try:
        info = _register(db, base_url, openid_configuration, registration_token, development, http)
    except BaseException:
        release_invite(db, invite_id)
        raise
    complete_invite(db, invite_id, info.id)
    log.info("event=platform_registered_by_invite invite_id=%s platform_id=%s", invite_id, info.id)
    return info


def _register(
    db: Database,
    base_url: str,
    openid_configuration: str,
    registration_token: str | None,
    development: bool,
    http: requests.Session | None,
) -> PlatformInfo:
    http = http or requests.Session()
    try:
        check_platform_url(openid_configuration, "openid_configuration", development=development)
        check_public_host(openid_configuration, "openid_configuration", development=development)
    except UnsafeUrl as exc:
        log.warning("event=registration_refused check=openid_configuration reason=%s", exc)
        raise _refused(
            "lti_registration_request", f"The registration request is not acceptable: {exc}"
        ) from exc
    try:
        config = _call(http, "GET", openid_configuration, headers={"Accept": "application/json"})
    except (requests.RequestException, ValueError) as exc:
        log.warning("event=registration_refused check=openid_configuration_fetch error=%s", exc)
        raise _refused(
            "lti_registration_config", "The platform's configuration could not be read.", 502
        ) from exc
    if not isinstance(config, dict):
        raise _refused("lti_registration_config", "The platform's configuration is not a JSON object.")
    missing = [k for k in _PLATFORM_URLS if not isinstance(config.get(k), str) or not config.get(k)]
    if missing:
        raise _refused("lti_registration_config", f"The platform's configuration lacks {', '.join(missing)}.")
    issuer = config["issuer"]
    try:
        for key, label in _PLATFORM_URLS.items():
            check_platform_url(config[key], label, development=development)
        if config.get("authorization_server"):
            check_platform_url(
                config["authorization_server"], "the platform's authorization server", development=development
            )
    except UnsafeUrl as exc:
        log.warning("event=registration_refused check=platform_urls reason=%s", exc)
        raise _refused(
            "lti_registration_config", f"The platform's configuration is not acceptable: {exc}"
        ) from exc
    if origin(issuer) != origin(openid_configuration):
        raise _refused(
            "lti_registration_issuer",
            "The platform's issuer does not match the address its configuration came from.",
        )
    endpoint = config["registration_endpoint"]
    if not same_host(endpoint, issuer):
        raise _refused(
            "lti_registration_endpoint", "The platform's registration endpoint is not on the issuer's host."
        )
    try:
        check_public_host(endpoint, "the platform's registration endpoint", development=development)
    except UnsafeUrl as exc:
        log.warning("event=registration_refused check=registration_endpoint reason=%s", exc)
        raise _refused("lti_registration_endpoint", f"The registration is not acceptable: {exc}") from exc
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        body = _call(http, "POST", endpoint, data=json.dumps(tool_registration(base_url)), headers=headers)
    except (requests.RequestException, ValueError) as exc:
        log.warning("event=registration_refused check=registration_post error=%s", exc)
        raise _refused(
            "lti_registration_refused", "The platform did not accept the registration.", 502
        ) from exc
    client_id = body.get("client_id") if isinstance(body, dict) else None
    if not isinstance(client_id, str) or not client_id or len(client_id) > 255:
        raise _refused("lti_registration_refused", "The platform's answer has no client_id.", 502)
    tool_config = body.get(c.TOOL_CONFIGURATION) or {}
    deployment_id = tool_config.get("deployment_id") if isinstance(tool_config, dict) else None
    platform_config = config.get(c.PLATFORM_CONFIGURATION) or {}
    if not isinstance(platform_config, dict):
        platform_config = {}
    family = str(platform_config.get("product_family_code") or "")[:64]
    info = save_platform(
        db,
        issuer=issuer,
        client_id=client_id,
        auth_login_url=config["authorization_endpoint"],
        auth_token_url=config["token_endpoint"],
        auth_token_audience=config.get("authorization_server") or None,
        jwks_url=config["jwks_uri"],
        name=(family or issuer)[:255],
        product_family=family,
        deployment_ids=[str(deployment_id)[:255]] if deployment_id not in (None, "") else [],
        development=development,
    )
    log.info(
        "event=platform_registered issuer=%s client_id=%s deployment_id=%s", issuer, client_id, deployment_id
    )
    return info
