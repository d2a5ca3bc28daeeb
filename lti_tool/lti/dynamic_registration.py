"""LTI Dynamic Registration (1EdTech): read the platform's openid-configuration, post our client
registration with the registration token, and store the platform and the deployment it gives us."""

from __future__ import annotations

import logging
from typing import Any

import requests

from ..db import Database
from . import claims as c
from .canvas import DESCRIPTION, TITLE
from .errors import LtiRefused
from .login import origin
from .registrations import PlatformInfo, save_platform

log = logging.getLogger("lti_tool.lti")
TIMEOUT = 10


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


def register(
    db: Database,
    base_url: str,
    openid_configuration: str,
    registration_token: str | None,
    http: requests.Session | None = None,
) -> PlatformInfo:
    http = http or requests.Session()
    if not openid_configuration.startswith(("https://", "http://")):
        raise _refused("lti_registration_request", "openid_configuration must be an http(s) URL.")
    try:
        response = http.get(openid_configuration, timeout=TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        config = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise _refused(
            "lti_registration_config", f"The platform's configuration could not be read: {exc}", 502
        ) from exc
    issuer = config.get("issuer") if isinstance(config, dict) else None
    if not isinstance(issuer, str) or origin(issuer) != origin(openid_configuration):
        raise _refused(
            "lti_registration_issuer",
            "The platform's issuer does not match the address its configuration came from.",
        )
    missing = [
        k
        for k in ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
        if not isinstance(config.get(k), str)
    ]
    if missing:
        raise _refused("lti_registration_config", f"The platform's configuration lacks {', '.join(missing)}.")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        answer = http.post(
            config["registration_endpoint"],
            json=tool_registration(base_url),
            headers=headers,
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
        body = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise _refused(
            "lti_registration_refused", f"The platform refused the registration: {exc}", 502
        ) from exc
    client_id = body.get("client_id") if isinstance(body, dict) else None
    if not isinstance(client_id, str) or not client_id:
        raise _refused("lti_registration_refused", "The platform's answer has no client_id.", 502)
    tool_config = body.get(c.TOOL_CONFIGURATION) or {}
    deployment_id = tool_config.get("deployment_id") if isinstance(tool_config, dict) else None
    platform_config = config.get(c.PLATFORM_CONFIGURATION) or {}
    info = save_platform(
        db,
        issuer=issuer,
        client_id=client_id,
        auth_login_url=config["authorization_endpoint"],
        auth_token_url=config["token_endpoint"],
        auth_token_audience=config.get("authorization_server") or None,
        jwks_url=config["jwks_uri"],
        name=str(platform_config.get("product_family_code") or issuer),
        product_family=str(platform_config.get("product_family_code") or ""),
        deployment_ids=[str(deployment_id)] if deployment_id not in (None, "") else [],
    )
    log.info(
        "event=platform_registered issuer=%s client_id=%s deployment_id=%s", issuer, client_id, deployment_id
    )
    return info
