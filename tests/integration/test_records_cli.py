"""The operator's commands on the records side: revoke a credential, list and rotate badge keys."""

from __future__ import annotations

from sqlalchemy import select

from lti_tool.db.models import AuditEvent
from lti_tool.db.records_models import Award
from lti_tool.services import badges
from tests import scenario


def test_revoke_and_badge_keys(app, db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    for key in c.map().stacks[0].credential_ids:
        scenario.earn(c, learner, assessor, key)
    with db.read() as session:
        credential, stack = session.scalars(select(Award).order_by(Award.id)).all()[0::5]
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["records", "revoke", stack.public_id, "--reason", "misconduct"])
    assert refused.exit_code == 1 and "CEU record" in refused.output
    missing = runner.invoke(args=["records", "revoke", "MCS-0000000000", "--reason", "x"])
    assert missing.exit_code == 1 and "No record" in missing.output
    done = runner.invoke(
        args=["records", "revoke", credential.public_id, "--reason", "Plagiarised artifact."]
    )
    assert done.exit_code == 0, done.output
    assert credential.public_id in done.output and stack.public_id in done.output
    with db.read() as session:
        actors = set(
            session.scalars(select(AuditEvent.actor).where(AuditEvent.action.like("award.revoked.%")))
        )
    assert len(actors) == 1 and next(iter(actors)).startswith("operator:")

    assert "No key yet" in runner.invoke(args=["badges", "keys"]).output
    badges.badge(db, stack.public_id)
    rotated = runner.invoke(args=["badges", "rotate-key"])
    assert rotated.exit_code == 0 and "did:key:z6Mk" in rotated.output
    listed = runner.invoke(args=["badges", "keys"]).output.splitlines()
    assert len(listed) == 2 and "retired" in listed[0] and "active" in listed[1]
