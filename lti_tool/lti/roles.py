"""LTI roles -> the tool's roles (learner, assessor, designer). Only a person's role *in the course*
(a context role) decides what they may do here.

Context roles (LTI 1.3 appendix A.2.3), matched without regard to case:

- full URIs ``http://purl.imsglobal.org/vocab/lis/v2/membership#<Role>``;
- sub-roles ``http://purl.imsglobal.org/vocab/lis/v2/membership/<Role>#<SubRole>``;
- the simple names LTI 1.3 allows for context roles (``Learner``, ``Instructor``, ``ContentDeveloper``,
  ``Administrator``, ``Mentor``, ``Manager``, ``Member``, ``Officer``), and ``TeachingAssistant`` (an LTI 1.1
  context role some platforms still send as a simple name);
- the deprecated LTI 1.1 context URNs ``urn:lti:role:ims/lis/<Role>`` and
  ``urn:lti:role:ims/lis/<Role>/<SubRole>``, read like the URIs above.

What they give:

- Learner, and every Learner sub-role -> learner;
- ContentDeveloper, Administrator (and the sub-roles naming themselves, e.g.
  ``membership/ContentDeveloper#ContentDeveloper``) -> designer + assessor (editing roles);
- Instructor (and ``membership/Instructor#Instructor``), Instructor#TeachingAssistant (and its
  TeachingAssistant* variants), Instructor#Grader, and the TeachingAssistant simple name -> assessor
  (teaching roles). Moodle sends editing and non-editing teachers alike as Instructor, so Instructor alone
  never gives designer: an Instructor designs when the course's editors list names them, which an
  Instructor's Deep Linking request (``is_instructor``) adds them to (``services.editors``,
  docs/decisions/0005-editing-and-teaching-roles.md);
- Mentor (observers, parents), Manager, Member, Officer and every other sub-role -> nothing. A sub-role alone
  does not stand for its principal role: LTI has platforms send the principal role with it.

Institution roles (``.../vocab/lis/v2/institution/person#...``, ``urn:lti:instrole:...``) and system roles
(``.../vocab/lis/v2/system/person#...``, ``urn:lti:sysrole:...``) give nothing: Canvas sends
``institution/person#Instructor`` for anyone who teaches anywhere. The one exception is an LMS administrator
(``system/person#Administrator``, ``system/person#SysAdmin``, ``institution/person#Administrator``, and their
LTI 1.1 URNs), who gets designer + assessor in every course only when ``admins_are_designers`` is set
(the LMS_ADMINS_ARE_DESIGNERS setting). Unknown roles and values that are not strings give nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..domain.roles import ASSESSOR, DESIGNER, LEARNER

__all__ = ["ASSESSOR", "DESIGNER", "LEARNER", "is_instructor", "landing_role", "map_roles"]

_NONE: frozenset[str] = frozenset()
_LEARNER = frozenset({LEARNER})
_ASSESSOR = frozenset({ASSESSOR})
_STAFF = frozenset({DESIGNER, ASSESSOR})

_LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
_MEMBERSHIP = _LIS + "membership"
_LTI11_CONTEXT = "urn:lti:role:ims/lis/"

# Principal context roles (lower-cased) -> tool roles. Mentor, Manager, Member, Officer give nothing.
_PRINCIPAL: dict[str, frozenset[str]] = {
    "learner": _LEARNER,
    # A teaching role: editing rights come from the course's editors list (services.editors).
    "instructor": _ASSESSOR,
    "contentdeveloper": _STAFF,
    "administrator": _STAFF,
    # Not in the LIS v2 vocabulary (there it is Instructor#TeachingAssistant), but an LTI 1.1 context role
    # and a simple name some platforms send.
    "teachingassistant": _ASSESSOR,
}

# LMS administrators (lower-cased): designers only when the setting says so.
_LMS_ADMINS = frozenset(
    {
        _LIS + "system/person#administrator",
        _LIS + "system/person#sysadmin",
        _LIS + "institution/person#administrator",
        "urn:lti:sysrole:ims/lis/administrator",
        "urn:lti:sysrole:ims/lis/sysadmin",
        "urn:lti:instrole:ims/lis/administrator",
    }
)


def _context_role(role: str) -> tuple[str, str | None] | None:
    """(principal, sub-role) of a context role, lower-cased; None for any other role.

    ``.../membership#Learner`` -> (learner, None); ``.../membership/Instructor#Grader`` -> (instructor,
    grader); ``Instructor`` -> (instructor, None); ``urn:lti:role:ims/lis/Instructor/Grader`` -> (instructor,
    grader); ``.../institution/person#Instructor`` -> None.
    """
    if role.startswith(_MEMBERSHIP + "#"):
        principal, sub = role[len(_MEMBERSHIP) + 1 :], None
    elif role.startswith(_MEMBERSHIP + "/"):
        principal, sep, sub_role = role[len(_MEMBERSHIP) + 1 :].partition("#")
        if not sep:
            return None
        sub = sub_role
    elif role.startswith(_LTI11_CONTEXT):
        principal, sep, sub_role = role[len(_LTI11_CONTEXT) :].partition("/")
        sub = sub_role if sep else None
    elif not any(ch in role for ch in ":/#"):
        principal, sub = role, None  # a simple name
    else:
        return None
    if not principal or sub == "" or any(ch in principal for ch in ":/#"):
        return None
    if sub is not None and any(ch in sub for ch in ":/#"):
        return None
    return principal, sub


def _tool_roles(principal: str, sub: str | None) -> frozenset[str]:
    if principal == "learner":
        return _LEARNER  # Learner#NonCreditLearner, #GuestLearner, ... are learners too
    if sub is None or sub == principal:
        return _PRINCIPAL.get(principal, _NONE)
    if principal == "instructor" and (sub == "grader" or sub.startswith("teachingassistant")):
        return _ASSESSOR
    if principal == "teachingassistant":
        return _ASSESSOR  # LTI 1.1: urn:lti:role:ims/lis/TeachingAssistant/TeachingAssistantSection, ...
    return _NONE


def map_roles(lti_roles: Iterable[object], *, admins_are_designers: bool = False) -> frozenset[str]:
    """The tool's roles for a launch's (or an NRPS member's) roles; see the module docstring."""
    result: set[str] = set()
    for role in lti_roles:
        if not isinstance(role, str):
            continue
        name = role.strip().lower()
        if not name:
            continue
        if name in _LMS_ADMINS:
            if admins_are_designers:
                result |= _STAFF
            continue
        context = _context_role(name)
        if context is not None:
            result |= _tool_roles(*context)
    return frozenset(result)


def is_instructor(lti_roles: Iterable[object]) -> bool:
    """Whether the roles hold the Instructor context role itself (not only a sub-role such as
    Instructor#TeachingAssistant or Instructor#Grader): with a Deep Linking request, the sign that the
    platform lets this person edit the course (Moodle offers "Select content" only to editing teachers)."""
    for role in lti_roles:
        if isinstance(role, str):
            context = _context_role(role.strip().lower())
            if context is not None and context[0] == "instructor" and context[1] in (None, "instructor"):
                return True
    return False


def landing_role(roles: frozenset[str]) -> str | None:
    """The role whose home page a launch opens: designer before assessor before learner."""
    for role in (DESIGNER, ASSESSOR, LEARNER):
        if role in roles:
            return role
    return None
