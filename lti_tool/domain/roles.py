"""The tool's roles in a course, and who of its teachers may change what the course follows.

- learner: works on credentials;
- assessor: a teaching role (Instructor, TeachingAssistant, Grader): reviews evidence, sees the dashboard;
- designer: an editing role: chooses the course map and its version, places stacks and credentials
  (Deep Linking), and names the course's other editors.

Designer rights come from the platform (ContentDeveloper or course Administrator, an LMS administrator
under LMS_ADMINS_ARE_DESIGNERS: ``lti.roles``) or from the course's editors list kept by the tool
(docs/decisions/0005-editing-and-teaching-roles.md). A listed editor designs only while the platform still
gives them a teaching role in the course: a teacher the LMS turned into a learner is no longer an editor.
"""

from __future__ import annotations

from collections.abc import Iterable

LEARNER = "learner"
ASSESSOR = "assessor"
DESIGNER = "designer"


def with_editing(roles: Iterable[str], listed_editor: bool) -> frozenset[str]:
    """The roles a course gives a person: the platform's (``roles``), plus designer for a listed editor who
    teaches there."""
    result = frozenset(roles)
    if listed_editor and ASSESSOR in result:
        return result | {DESIGNER}
    return result


def teaches(roles: Iterable[str]) -> bool:
    """A teaching role in the course (what an editor must have): assessor or designer."""
    return bool({ASSESSOR, DESIGNER} & set(roles))
