"""review queue and history indexes: the waiting evidence of a course in submission order, and decisions
newest first, so the assessor's queue and history pages read one page of rows at 50,000 learners

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_submissions_queue", "submissions", ["context_id", "state", "submitted_at", "id"], unique=False
    )
    op.create_index("ix_attempt_decisions_decided", "attempt_decisions", ["decided_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_attempt_decisions_decided", table_name="attempt_decisions")
    op.drop_index("ix_submissions_queue", table_name="submissions")
