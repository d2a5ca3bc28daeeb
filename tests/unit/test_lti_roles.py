"""LTI role URIs and short names -> the tool's roles (lti_tool/lti/roles.py).

Only context (course membership) roles give rights; institution and system roles give none, except LMS
administrators when the LMS_ADMINS_ARE_DESIGNERS setting is on. Instructor is a teaching role (assessor):
Moodle sends non-editing teachers as Instructor too; editing roles (ContentDeveloper, Administrator) design.
"""

from __future__ import annotations

import pytest

from lti_tool.domain.roles import teaches, with_editing
from lti_tool.lti.nrps import _member
from lti_tool.lti.roles import ASSESSOR, DESIGNER, LEARNER, is_instructor, landing_role, map_roles

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SUB = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"
LTI11 = "urn:lti:role:ims/lis/"

STAFF = {DESIGNER, ASSESSOR}
LMS_ADMINS = [
    INSTITUTION + "Administrator",
    SYSTEM + "Administrator",
    SYSTEM + "SysAdmin",
    "urn:lti:instrole:ims/lis/Administrator",
    "urn:lti:sysrole:ims/lis/Administrator",
    "urn:lti:sysrole:ims/lis/SysAdmin",
]


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        # LIS v2 context roles, full URIs
        ([MEMBERSHIP + "Learner"], {LEARNER}),
        ([MEMBERSHIP + "Instructor"], {ASSESSOR}),  # editing and non-editing teachers alike (Moodle)
        ([MEMBERSHIP + "ContentDeveloper"], STAFF),
        ([MEMBERSHIP + "Administrator"], STAFF),
        ([MEMBERSHIP + "Mentor"], set()),
        ([MEMBERSHIP + "Manager"], set()),
        ([MEMBERSHIP + "Member"], set()),
        ([MEMBERSHIP + "Officer"], set()),
        # context sub-roles
        ([SUB + "Instructor#TeachingAssistant"], {ASSESSOR}),
        ([SUB + "Instructor#TeachingAssistantSection"], {ASSESSOR}),
        ([SUB + "Instructor#Grader"], {ASSESSOR}),
        ([SUB + "Instructor#Instructor"], {ASSESSOR}),
        ([SUB + "Instructor#PrimaryInstructor"], set()),  # a sub-role alone is not its principal role
        ([SUB + "Instructor#PrimaryInstructor", MEMBERSHIP + "Instructor"], {ASSESSOR}),
        ([MEMBERSHIP + "Instructor", MEMBERSHIP + "ContentDeveloper"], STAFF),
        ([SUB + "Learner#Learner"], {LEARNER}),
        ([SUB + "Learner#NonCreditLearner"], {LEARNER}),
        ([SUB + "Learner#GuestLearner"], {LEARNER}),
        ([SUB + "Learner#Instructor"], {LEARNER}),  # a Learner sub-role, not an instructor
        ([SUB + "Administrator#Administrator"], STAFF),
        ([SUB + "Administrator#Support"], set()),
        ([SUB + "ContentDeveloper#ContentDeveloper"], STAFF),
        ([SUB + "ContentDeveloper#Librarian"], set()),
        ([SUB + "Mentor#Advisor"], set()),
        ([SUB + "Mentor#Auditor"], set()),
        ([SUB + "Manager#Observer"], set()),
        ([SUB + "Officer#Chair"], set()),
        ([SUB + "Instructor"], set()),  # no sub-role: not a role of the vocabulary
        ([SUB + "Instructor#"], set()),
        # LTI 1.3 simple names for context roles (case does not matter)
        (["Learner"], {LEARNER}),
        (["Instructor"], {ASSESSOR}),
        (["ContentDeveloper"], STAFF),
        (["Administrator"], STAFF),  # a simple name is a context role (LTI 1.3 A.2.3)
        (["teachingassistant"], {ASSESSOR}),
        (["TeachingAssistant"], {ASSESSOR}),
        (["Mentor"], set()),
        (["Manager"], set()),
        (["Member"], set()),
        (["Officer"], set()),
        # deprecated LTI 1.1 context role URNs
        ([LTI11 + "Learner"], {LEARNER}),
        ([LTI11 + "Learner/NonCreditLearner"], {LEARNER}),
        ([LTI11 + "Instructor"], {ASSESSOR}),
        ([LTI11 + "ContentDeveloper"], STAFF),
        ([LTI11 + "TeachingAssistant"], {ASSESSOR}),
        ([LTI11 + "TeachingAssistant/TeachingAssistantSection"], {ASSESSOR}),
        ([LTI11 + "Instructor/Grader"], {ASSESSOR}),
        ([LTI11 + "Mentor"], set()),
        # institution and system roles give nothing, whatever they are called
        ([INSTITUTION + "Instructor"], set()),
        ([INSTITUTION + "Faculty"], set()),
        ([INSTITUTION + "Learner"], set()),
        ([INSTITUTION + "Student"], set()),
        ([INSTITUTION + "Staff"], set()),
        ([INSTITUTION + "Mentor"], set()),
        ([INSTITUTION + "Administrator"], set()),
        ([SYSTEM + "Administrator"], set()),
        ([SYSTEM + "SysAdmin"], set()),
        ([SYSTEM + "AccountAdmin"], set()),
        ([SYSTEM + "User"], set()),
        (["urn:lti:instrole:ims/lis/Instructor"], set()),
        (["urn:lti:instrole:ims/lis/Administrator"], set()),
        (["urn:lti:sysrole:ims/lis/SysAdmin"], set()),
        # Canvas: institution and system roles next to the membership role; only the membership role counts
        ([INSTITUTION + "Student", MEMBERSHIP + "Learner", SYSTEM + "User"], {LEARNER}),
        ([INSTITUTION + "Instructor", MEMBERSHIP + "Learner", SYSTEM + "User"], {LEARNER}),
        ([INSTITUTION + "Instructor", MEMBERSHIP + "Instructor", SYSTEM + "User"], {ASSESSOR}),
        ([INSTITUTION + "Administrator", MEMBERSHIP + "Learner"], {LEARNER}),
        ([INSTITUTION + "Instructor", MEMBERSHIP + "Mentor"], set()),
        # Mentor next to another role: only the other role counts
        ([MEMBERSHIP + "Mentor", MEMBERSHIP + "Learner"], {LEARNER}),
        ([MEMBERSHIP + "Mentor", SUB + "Instructor#Grader"], {ASSESSOR}),
        # several roles add up
        ([MEMBERSHIP + "Learner", SUB + "Instructor#TeachingAssistant"], {LEARNER, ASSESSOR}),
        ([" " + MEMBERSHIP + "Learner "], {LEARNER}),
        ([MEMBERSHIP.upper() + "LEARNER"], {LEARNER}),
    ],
)
def test_only_context_roles_map_to_tool_roles(roles: list[str], expected: set[str]) -> None:
    assert map_roles(roles) == frozenset(expected)
    if not set(roles) & set(LMS_ADMINS):
        # without an LMS administrator role, the admin setting changes nothing
        assert map_roles(roles, admins_are_designers=True) == frozenset(expected)


@pytest.mark.parametrize("admin", LMS_ADMINS)
def test_lms_administrators_are_designers_only_when_the_setting_is_on(admin: str) -> None:
    assert map_roles([admin]) == frozenset()
    assert map_roles([admin, SYSTEM + "User"], admins_are_designers=False) == frozenset()
    assert map_roles([admin], admins_are_designers=True) == frozenset(STAFF)
    assert map_roles([admin, MEMBERSHIP + "Learner"], admins_are_designers=True) == frozenset(
        {LEARNER, DESIGNER, ASSESSOR}
    )


@pytest.mark.parametrize(
    "roles",
    [
        [INSTITUTION + "Instructor"],
        [INSTITUTION + "Faculty"],
        [INSTITUTION + "Staff"],
        [SYSTEM + "AccountAdmin"],
        [SYSTEM + "Creator"],
        [SYSTEM + "User"],
        ["urn:lti:instrole:ims/lis/Instructor"],
    ],
)
def test_the_admin_setting_gives_nothing_to_other_institution_and_system_roles(roles: list[str]) -> None:
    assert map_roles(roles, admins_are_designers=True) == frozenset()


@pytest.mark.parametrize(
    "roles",
    [
        [],
        [""],
        ["   "],
        ["#"],
        ["Learner#Instructor"],
        ["Instructor/Grader"],
        [SYSTEM + "User"],
        [INSTITUTION + "Guest"],
        [MEMBERSHIP + "Member", MEMBERSHIP + "Manager"],
        [MEMBERSHIP + "Mentor"],
        ["http://example.com/custom#Observer"],
        ["http://example.com/custom#Instructor"],
        ["https://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor"],
        ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor#x"],
        ["Student", "Grader"],  # not LTI 1.3 context role names
        [42, None, {"role": "Learner"}, ["Learner"]],  # not strings: ignored, never an error
    ],
)
def test_roles_giving_no_access_map_to_nothing(roles: list[object]) -> None:
    assert map_roles(roles) == frozenset()
    assert landing_role(map_roles(roles)) is None


def test_landing_role_prefers_designer_then_assessor_then_learner() -> None:
    assert landing_role(frozenset({LEARNER, ASSESSOR, DESIGNER})) == DESIGNER
    assert landing_role(frozenset({LEARNER, ASSESSOR})) == ASSESSOR
    assert landing_role(frozenset({LEARNER})) == LEARNER
    assert landing_role(map_roles([SUB + "Instructor#Grader", MEMBERSHIP + "Learner"])) == ASSESSOR


def test_nrps_members_use_the_same_rule() -> None:
    def roles_of(roles: object, admins: bool = False) -> tuple[str, ...]:
        member = _member({"user_id": "7", "roles": roles}, admins)
        assert member is not None
        return member.roles

    assert roles_of([INSTITUTION + "Instructor", MEMBERSHIP + "Learner"]) == (LEARNER,)
    assert roles_of([MEMBERSHIP + "Mentor"]) == ()
    assert roles_of([INSTITUTION + "Administrator"]) == ()
    assert roles_of([INSTITUTION + "Administrator"], admins=True) == (ASSESSOR, DESIGNER)
    assert roles_of(["Instructor"]) == (ASSESSOR,)
    assert roles_of(["ContentDeveloper"]) == (ASSESSOR, DESIGNER)
    assert roles_of("Instructor") == ()  # not a list


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([MEMBERSHIP + "Instructor"], True),
        (["Instructor"], True),
        ([" " + MEMBERSHIP.upper() + "INSTRUCTOR "], True),
        ([SUB + "Instructor#Instructor"], True),
        ([LTI11 + "Instructor"], True),
        ([INSTITUTION + "Instructor", MEMBERSHIP + "Instructor"], True),
        ([SUB + "Instructor#TeachingAssistant"], False),  # a TA's Deep Linking is not an editing signal
        ([SUB + "Instructor#Grader"], False),
        (["TeachingAssistant"], False),
        ([SUB + "Instructor#PrimaryInstructor"], False),
        ([INSTITUTION + "Instructor"], False),  # teaches somewhere, not in this course
        ([MEMBERSHIP + "ContentDeveloper"], False),  # designs by role already
        ([MEMBERSHIP + "Learner"], False),
        ([42, None], False),
    ],
)
def test_is_instructor_names_the_instructor_context_role_only(roles: list[object], expected: bool) -> None:
    assert is_instructor(roles) is expected


def test_a_listed_editor_designs_only_while_teaching_in_the_course() -> None:
    assert with_editing({ASSESSOR}, True) == frozenset({ASSESSOR, DESIGNER})
    assert with_editing({ASSESSOR}, False) == frozenset({ASSESSOR})
    assert with_editing({LEARNER}, True) == frozenset({LEARNER})  # the LMS made them a learner here
    assert with_editing(set(), True) == frozenset()
    assert with_editing({LEARNER, ASSESSOR}, True) == frozenset({LEARNER, ASSESSOR, DESIGNER})
    assert teaches({ASSESSOR}) and teaches({DESIGNER, ASSESSOR}) and not teaches({LEARNER})
