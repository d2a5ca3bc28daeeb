"""course map disagreement: the last course_map a placement's launch asked for that differs from the
course's binding (launches bind only an unbound course; designers are warned instead)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contexts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disagreeing_course_map", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("disagreeing_course_map_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contexts", schema=None) as batch_op:
        batch_op.drop_column("disagreeing_course_map_at")
        batch_op.drop_column("disagreeing_course_map")
