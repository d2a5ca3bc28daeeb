"""registration invites: Dynamic Registration only with an operator's one-time token; login hints kept
with the OIDC state (a cookie-less launch offers the same login in a new window)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registration_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("platform_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_registration_invites_platform_id_platforms"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_invites")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_registration_invites_token_sha256")),
    )
    with op.batch_alter_table("oidc_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("login_hint", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("lti_message_hint", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oidc_states", schema=None) as batch_op:
        batch_op.drop_column("lti_message_hint")
        batch_op.drop_column("login_hint")
    op.drop_table("registration_invites")
