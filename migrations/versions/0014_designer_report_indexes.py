"""designer report indexes: learners listed by name (lower(name), id), and the latest change to a course's
evidence (context_id, updated_at), which tells the dashboard whether its counts are still current

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_users_name_lower", "users", [sa.text("lower(name)"), "id"], unique=False)
    op.create_index(
        "ix_submissions_context_updated", "submissions", ["context_id", "updated_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_submissions_context_updated", table_name="submissions")
    op.drop_index("ix_users_name_lower", table_name="users")
