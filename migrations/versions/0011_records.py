"""records: awards (badges, CEU records), educator profiles and consents, badge keys, office deliveries
and tokens; grants can be revoked (one live grant per learner and target, a revoked one stays)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:03:59.187489
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "badge_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_multibase", sa.String(length=64), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badge_keys")),
        sa.UniqueConstraint("public_multibase", name=op.f("uq_badge_keys_public_multibase")),
    )
    op.create_table(
        "office_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_office_tokens_token_hash")),
    )
    op.create_table(
        "educator_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("legal_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("licence_number", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_educator_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_educator_profiles")),
        sa.UniqueConstraint("user_id", name=op.f("uq_educator_profiles_user_id")),
    )
    op.create_table(
        "office_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_office_consents_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_consents")),
        sa.UniqueConstraint("user_id", "office_key", name=op.f("uq_office_consents_user_id_office_key")),
    )
    op.create_table(
        "awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_key", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("course_key", sa.String(length=128), nullable=False),
        sa.Column("map_version_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("contact_hours", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("ceus", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("badge", sa.JSON(), nullable=True),
        sa.Column("badge_key_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["badge_key_id"], ["badge_keys.id"], name=op.f("fk_awards_badge_key_id_badge_keys")
        ),
        sa.ForeignKeyConstraint(
            ["context_id"], ["contexts.id"], name=op.f("fk_awards_context_id_contexts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_awards_grant_id_grants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["map_version_id"],
            ["course_map_versions.id"],
            name=op.f("fk_awards_map_version_id_course_map_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_awards_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_awards_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awards")),
        sa.UniqueConstraint("public_id", name=op.f("uq_awards_public_id")),
    )
    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.create_index("ix_awards_grant", ["grant_id"], unique=False)
        batch_op.create_index("ix_awards_learner", ["context_id", "user_id"], unique=False)
        batch_op.create_index(
            "uq_awards_live",
            ["context_id", "user_id", "kind", "target_key"],
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )

    op.create_table(
        "office_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("award_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("push_state", sa.String(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["award_id"], ["awards.id"], name=op.f("fk_office_deliveries_award_id_awards"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_office_deliveries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_deliveries")),
        sa.UniqueConstraint(
            "award_id", "office_key", "event", name=op.f("uq_office_deliveries_award_id_office_key_event")
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_office_deliveries_idempotency_key")),
    )
    with op.batch_alter_table("office_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_office_deliveries_office", ["office_key", "id"], unique=False)

    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.alter_column("assessor_id", existing_type=sa.Integer(), nullable=True)

    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_reason", sa.Text(), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_grants_context_id_user_id_kind_target_key"), type_="unique")
        batch_op.create_index(
            "uq_grants_live",
            ["context_id", "user_id", "kind", "target_key"],
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("office_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_office_deliveries_office")

    op.drop_table("office_deliveries")
    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.drop_index("uq_awards_live")
        batch_op.drop_index("ix_awards_learner")
        batch_op.drop_index("ix_awards_grant")

    op.drop_table("awards")
    op.drop_table("office_consents")
    op.drop_table("educator_profiles")
    op.drop_table("office_tokens")
    op.drop_table("badge_keys")
    # Two grants for one target (one revoked) cannot live under the old unique constraint.
    op.execute("DELETE FROM grants WHERE revoked_at IS NOT NULL")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_grants_live",
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_grants_context_id_user_id_kind_target_key"),
            ["context_id", "user_id", "kind", "target_key"],
        )
        batch_op.drop_column("revoked_reason")
        batch_op.drop_column("revoked_at")
    # Operators' decisions (revocations) have no assessor; the old schema cannot hold them.
    op.execute("DELETE FROM assessments WHERE assessor_id IS NULL")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.alter_column("assessor_id", existing_type=sa.Integer(), nullable=False)
