"""reviews, attempts and e-mail: several reviewers per attempt (panels) with one decision per attempt,
review claims, each submitted attempt kept as it was, notification e-mails

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:16:45.558974
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=True),
        sa.Column("to_user_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transport", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["contexts.id"],
            name=op.f("fk_email_messages_context_id_contexts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_user_id"], ["users.id"], name=op.f("fk_email_messages_to_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_email_messages_dedupe_key")),
    )
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.create_index("ix_email_messages_created", ["created_at"], unique=False)

    op.create_table(
        "attempt_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("map_version_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["map_version_id"],
            ["course_map_versions.id"],
            name=op.f("fk_attempt_decisions_map_version_id_course_map_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_attempt_decisions_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempt_decisions")),
        sa.UniqueConstraint(
            "submission_id", "attempt", name=op.f("uq_attempt_decisions_submission_id_attempt")
        ),
    )
    op.create_table(
        "review_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessor_id"], ["users.id"], name=op.f("fk_review_claims_assessor_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_review_claims_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_claims")),
        sa.UniqueConstraint(
            "submission_id", "assessor_id", name=op.f("uq_review_claims_submission_id_assessor_id")
        ),
    )
    with op.batch_alter_table("review_claims", schema=None) as batch_op:
        batch_op.create_index("ix_review_claims_submission", ["submission_id", "expires_at"], unique=False)

    op.create_table(
        "submission_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("reflections", sa.JSON(), nullable=False),
        sa.Column("artifacts", sa.JSON(), nullable=False),
        sa.Column("map_version_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["map_version_id"],
            ["course_map_versions.id"],
            name=op.f("fk_submission_attempts_map_version_id_course_map_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_submission_attempts_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_attempts")),
        sa.UniqueConstraint(
            "submission_id", "attempt", name=op.f("uq_submission_attempts_submission_id_attempt")
        ),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_assessments_submission_id_attempt"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_assessments_submission_id_attempt_assessor_id"),
            ["submission_id", "attempt", "assessor_id"],
        )

    # Every decision so far was one assessor's: it becomes its attempt's decision.
    op.execute(
        "INSERT INTO attempt_decisions (submission_id, attempt, decision, rule, reviews, map_version_id, decided_at) "
        "SELECT submission_id, attempt, decision, "
        "CASE WHEN decision = 'revoked' THEN 'revocation' ELSE 'single' END, 1, map_version_id, created_at "
        "FROM assessments"
    )
    _keep_submitted_attempts()


def _keep_submitted_attempts() -> None:
    """What is waiting for review or was earned is, as it stands, its last attempt: keep it as that attempt
    (drafts after a "not yet" may have changed since, so those are not guessed)."""
    bind = op.get_bind()
    submissions = sa.table(
        "submissions",
        sa.column("id", sa.Integer),
        sa.column("attempt", sa.Integer),
        sa.column("state", sa.String),
        sa.column("answers", sa.JSON),
        sa.column("reflections", sa.JSON),
        sa.column("map_version_id", sa.Integer),
        sa.column("submitted_at", sa.DateTime(timezone=True)),
    )
    artifacts = sa.table(
        "artifacts",
        sa.column("id", sa.Integer),
        sa.column("submission_id", sa.Integer),
        sa.column("requirement_id", sa.String),
        sa.column("label", sa.String),
        sa.column("url", sa.String),
        sa.column("filename", sa.String),
        sa.column("content_type", sa.String),
        sa.column("size_bytes", sa.Integer),
        sa.column("sha256", sa.String),
    )
    attempts = sa.table(
        "submission_attempts",
        sa.column("submission_id", sa.Integer),
        sa.column("attempt", sa.Integer),
        sa.column("answers", sa.JSON),
        sa.column("reflections", sa.JSON),
        sa.column("artifacts", sa.JSON),
        sa.column("map_version_id", sa.Integer),
        sa.column("submitted_at", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(
        sa.select(submissions).where(
            submissions.c.state.in_(["submitted", "earned"]), submissions.c.submitted_at.is_not(None)
        )
    ).all()
    for row in rows:
        kept = [
            {
                "id": a.id,
                "requirement_id": a.requirement_id,
                "label": a.label,
                "url": a.url,
                "filename": a.filename,
                "content_type": a.content_type,
                "size_bytes": a.size_bytes,
                "sha256": a.sha256,
            }
            for a in bind.execute(
                sa.select(artifacts).where(artifacts.c.submission_id == row.id).order_by(artifacts.c.id)
            )
        ]
        bind.execute(
            attempts.insert().values(
                submission_id=row.id,
                attempt=row.attempt,
                answers=row.answers or {},
                reflections=row.reflections or {},
                artifacts=kept,
                map_version_id=row.map_version_id,
                submitted_at=row.submitted_at,
            )
        )


def downgrade() -> None:
    # Only one review per attempt fits the old schema: keep the first of each panel.
    op.execute(
        "DELETE FROM assessments WHERE id NOT IN "
        "(SELECT MIN(id) FROM assessments GROUP BY submission_id, attempt)"
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_assessments_submission_id_attempt_assessor_id"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_assessments_submission_id_attempt"), ["submission_id", "attempt"]
        )

    op.drop_table("submission_attempts")
    with op.batch_alter_table("review_claims", schema=None) as batch_op:
        batch_op.drop_index("ix_review_claims_submission")

    op.drop_table("review_claims")
    op.drop_table("attempt_decisions")
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_email_messages_created")

    op.drop_table("email_messages")
