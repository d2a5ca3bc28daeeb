"""gradebook placements: each resource link's target and offered line item, the AGS scopes a launch
offers (per context and per placement), which columns the tool created, and the columns it retired

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "placements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("resource_link_id", sa.String(length=255), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=True),
        sa.Column("target_key", sa.String(length=128), nullable=True),
        sa.Column("lineitem_url", sa.String(length=1024), nullable=True),
        sa.Column("ags_scopes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["contexts.id"],
            name=op.f("fk_placements_context_id_contexts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placements")),
        sa.UniqueConstraint(
            "context_id", "resource_link_id", name=op.f("uq_placements_context_id_resource_link_id")
        ),
    )
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_placements_target", ["context_id", "target_kind", "target_key"], unique=False
        )
    op.create_table(
        "retired_line_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("lineitem_url", sa.String(length=1024), nullable=False),
        sa.Column("replaced_by_url", sa.String(length=1024), nullable=False),
        sa.Column("created_by_tool", sa.Boolean(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["contexts.id"],
            name=op.f("fk_retired_line_items_context_id_contexts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retired_line_items")),
    )
    with op.batch_alter_table("retired_line_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retired_line_items_context_id"), ["context_id"], unique=False)
    # Columns remembered before this revision may have been found, not created: never delete those.
    with op.batch_alter_table("line_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("created_by_tool", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("contexts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ags_scopes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contexts", schema=None) as batch_op:
        batch_op.drop_column("ags_scopes")
    with op.batch_alter_table("line_items", schema=None) as batch_op:
        batch_op.drop_column("created_by_tool")
    with op.batch_alter_table("retired_line_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retired_line_items_context_id"))
    op.drop_table("retired_line_items")
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.drop_index("ix_placements_target")
    op.drop_table("placements")
