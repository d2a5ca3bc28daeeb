"""LTI role URIs and short names -> the tool's roles (lti_tool/lti/roles.py)."""

from __future__ import annotations

import pytest

from lti_tool.lti.roles import ASSESSOR, DESIGNER, LEARNER, landing_role, map_roles

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SUB = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([MEMBERSHIP + "Learner"], {LEARNER}),
        ([MEMBERSHIP + "Instructor"], {DESIGNER, ASSESSOR}),
        ([MEMBERSHIP + "ContentDeveloper"], {DESIGNER, ASSESSOR}),
        ([MEMBERSHIP + "Administrator"], {DESIGNER, ASSESSOR}),
        ([MEMBERSHIP + "Mentor"], {ASSESSOR}),
        ([SUB + "Instructor#TeachingAssistant"], {ASSESSOR}),
        ([SUB + "Instructor#Grader"], {ASSESSOR}),
        ([SUB + "Learner#Learner"], {LEARNER}),
        # short names, as NRPS and some platforms send them (case does not matter)
        (["Learner"], {LEARNER}),
        (["Instructor"], {DESIGNER, ASSESSOR}),
        (["teachingassistant"], {ASSESSOR}),
        (["ContentDeveloper"], {DESIGNER, ASSESSOR}),
        # Canvas: institution and system roles next to the membership role
        ([INSTITUTION + "Student", MEMBERSHIP + "Learner", SYSTEM + "User"], {LEARNER}),
        ([INSTITUTION + "Instructor", MEMBERSHIP + "Instructor", SYSTEM + "User"], {DESIGNER, ASSESSOR}),
        # an institution or system Administrator (Moodle site admins) designs and assesses
        ([INSTITUTION + "Administrator"], {DESIGNER, ASSESSOR}),
        ([SYSTEM + "Administrator"], {DESIGNER, ASSESSOR}),
        # several roles add up
        ([MEMBERSHIP + "Learner", SUB + "Instructor#TeachingAssistant"], {LEARNER, ASSESSOR}),
        ([" " + MEMBERSHIP + "Learner "], {LEARNER}),
    ],
)
def test_role_uris_and_short_names_map_to_tool_roles(roles: list[str], expected: set[str]) -> None:
    assert map_roles(roles) == frozenset(expected)


@pytest.mark.parametrize(
    "roles",
    [
        [],
        [""],
        ["   "],
        [SYSTEM + "User"],
        [INSTITUTION + "Guest"],
        [MEMBERSHIP + "Member", MEMBERSHIP + "Manager"],
        ["http://example.com/custom#Observer"],
        [42, None, {"role": "Learner"}],  # not strings: ignored, never an error
    ],
)
def test_roles_giving_no_access_map_to_nothing(roles: list[object]) -> None:
    assert map_roles(roles) == frozenset()  # type: ignore[arg-type]
    assert landing_role(map_roles(roles)) is None  # type: ignore[arg-type]


def test_landing_role_prefers_designer_then_assessor_then_learner() -> None:
    assert landing_role(frozenset({LEARNER, ASSESSOR, DESIGNER})) == DESIGNER
    assert landing_role(frozenset({LEARNER, ASSESSOR})) == ASSESSOR
    assert landing_role(frozenset({LEARNER})) == LEARNER
    assert landing_role(map_roles([SUB + "Instructor#Grader", MEMBERSHIP + "Learner"])) == ASSESSOR
