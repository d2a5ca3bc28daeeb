"""learner stack versions: the map version each learner started each stack under (they are judged by it
until a designer moves them on); course map uploads checked on the designer pages, waiting to be published

Existing learners get the version of their grant for the stack, or else the oldest version of their
course's map under which they have evidence for a credential of the stack (a submission keeps the version
it was last submitted under, so this is the closest record of when they started).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learner_stack_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("course_key", sa.String(length=128), nullable=False),
        sa.Column("stack_key", sa.String(length=128), nullable=False),
        sa.Column("map_version_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["contexts.id"],
            name=op.f("fk_learner_stack_versions_context_id_contexts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_learner_stack_versions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["map_version_id"],
            ["course_map_versions.id"],
            name=op.f("fk_learner_stack_versions_map_version_id_course_map_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learner_stack_versions")),
        sa.UniqueConstraint(
            "context_id",
            "user_id",
            "course_key",
            "stack_key",
            name=op.f("uq_learner_stack_versions_context_id_user_id_course_key_stack_key"),
        ),
    )
    op.create_index(
        "ix_learner_stack_versions_context_version",
        "learner_stack_versions",
        ["context_id", "map_version_id"],
        unique=False,
    )
    op.execute(
        """
        INSERT INTO learner_stack_versions
            (context_id, user_id, course_key, stack_key, map_version_id, started_at)
        SELECT s.context_id, s.user_id, s.course_key, sd.stack_key,
               COALESCE(MIN(g.map_version_id), MIN(s.map_version_id)), MIN(s.created_at)
        FROM submissions s
        JOIN contexts c ON c.id = s.context_id AND c.course_key = s.course_key
        JOIN stack_defs sd ON sd.map_version_id = s.map_version_id
        JOIN stack_credentials sc ON sc.stack_def_id = sd.id AND sc.credential_key = s.credential_key
        LEFT JOIN grants g ON g.context_id = s.context_id AND g.user_id = s.user_id AND g.kind = 'stack'
            AND g.target_key = sd.stack_key AND g.course_key = s.course_key
        GROUP BY s.context_id, s.user_id, s.course_key, sd.stack_key
        """
    )
    op.create_table(
        "course_map_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("course_key", sa.String(length=128), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("base_version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_version_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["contexts.id"],
            name=op.f("fk_course_map_uploads_context_id_contexts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["users.id"],
            name=op.f("fk_course_map_uploads_uploaded_by_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["base_version_id"],
            ["course_map_versions.id"],
            name=op.f("fk_course_map_uploads_base_version_id_course_map_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["published_version_id"],
            ["course_map_versions.id"],
            name=op.f("fk_course_map_uploads_published_version_id_course_map_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_map_uploads")),
    )


def downgrade() -> None:
    op.drop_table("course_map_uploads")
    op.drop_index("ix_learner_stack_versions_context_version", table_name="learner_stack_versions")
    op.drop_table("learner_stack_versions")
