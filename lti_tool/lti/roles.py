"""LTI role URIs (and the short names NRPS and some platforms send) -> the tool's roles.

Learner -> learner; Instructor, ContentDeveloper, Administrator -> designer + assessor;
TeachingAssistant, Mentor, Instructor#Grader -> assessor. Anything else gives no access here.
"""

from __future__ import annotations

from collections.abc import Iterable

LEARNER = "learner"
ASSESSOR = "assessor"
DESIGNER = "designer"

_BY_NAME: dict[str, frozenset[str]] = {
    "learner": frozenset({LEARNER}),
    "student": frozenset({LEARNER}),
    "instructor": frozenset({DESIGNER, ASSESSOR}),
    "contentdeveloper": frozenset({DESIGNER, ASSESSOR}),
    "administrator": frozenset({DESIGNER, ASSESSOR}),
    "teachingassistant": frozenset({ASSESSOR}),
    "mentor": frozenset({ASSESSOR}),
    "grader": frozenset({ASSESSOR}),
}


def _name(role: str) -> str | None:
    """The vocabulary term a role URI or short name ends with, lower-cased.

    ``.../membership#Learner`` -> learner; ``.../membership/Instructor#TeachingAssistant`` ->
    teachingassistant; ``.../membership/Instructor#Grader`` -> grader;
    ``.../institution/person#Administrator`` -> administrator; ``Learner`` -> learner.
    """
    role = role.strip()
    if not role:
        return None
    if "#" in role:
        return role.rsplit("#", 1)[1].lower()
    return role.rsplit("/", 1)[-1].lower()


def map_roles(lti_roles: Iterable[str]) -> frozenset[str]:
    result: set[str] = set()
    for role in lti_roles:
        if not isinstance(role, str):
            continue
        name = _name(role)
        if name is None:
            continue
        # "Instructor#Grader" is a sub-role of Instructor that only grades.
        result |= _BY_NAME.get(name, frozenset())
    return frozenset(result)


def landing_role(roles: frozenset[str]) -> str | None:
    """The role whose home page a launch opens: designer before assessor before learner."""
    for role in (DESIGNER, ASSESSOR, LEARNER):
        if role in roles:
            return role
    return None
