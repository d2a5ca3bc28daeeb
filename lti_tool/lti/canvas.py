"""Canvas developer-key JSON (``/lti/config.json``): a Canvas admin pastes one URL."""

from __future__ import annotations

from typing import Any

from .claims import DEEP_LINKING_REQUEST, TOOL_SCOPES

TITLE = "Micro-credential Stacks"
DESCRIPTION = "Micro-credential stacks, evidence review and CEUs for MOOC-Ed units."


def developer_key_config(base_url: str) -> dict[str, Any]:
    domain = base_url.split("://", 1)[-1].split("/", 1)[0]
    launch = base_url + "/lti/launch"
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "oidc_initiation_url": base_url + "/lti/login",
        "target_link_uri": launch,
        "public_jwk_url": base_url + "/lti/jwks.json",
        "scopes": list(TOOL_SCOPES),
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "domain": domain,
                "tool_id": "microcredential-stacks",
                "privacy_level": "public",
                "settings": {
                    "text": TITLE,
                    "placements": [
                        {
                            "placement": "course_navigation",
                            "message_type": "LtiResourceLinkRequest",
                            "target_link_uri": launch,
                            "text": TITLE,
                            "default": "enabled",
                            "visibility": "members",
                        },
                        {
                            "placement": "link_selection",
                            "message_type": DEEP_LINKING_REQUEST,
                            "target_link_uri": launch,
                            "text": "Add a stack or credential",
                        },
                        {
                            "placement": "assignment_selection",
                            "message_type": DEEP_LINKING_REQUEST,
                            "target_link_uri": launch,
                            "text": "Add a stack or credential",
                        },
                    ],
                },
            }
        ],
        "custom_fields": {
            "canvas_user_id": "$Canvas.user.id",
            "canvas_course_id": "$Canvas.course.id",
            "course_map": "",
        },
    }
