"""reminders planned for an application time; broken push subscriptions

Revision ID: 7c4d2e9f1a30
Revises: 5b1e0c7d9a21
Create Date: 2026-12-01 09:30:00

"""

from alembic import op
import sqlalchemy as sa
import anagen.models.base


# revision identifiers, used by Alembic.
revision = "7c4d2e9f1a30"
down_revision = "5b1e0c7d9a21"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusals", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("failed_at", anagen.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("failure", sa.String(length=200), nullable=True))
    with op.batch_alter_table("reminder_occurrence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("application_due_at", anagen.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    # Existing application reminders were planned for their application's current time.
    op.execute(
        "UPDATE reminder_occurrence SET application_due_at = ("
        "SELECT due_at FROM planned_application WHERE planned_application.id = reminder_occurrence.planned_application_id"
        ") WHERE planned_application_id IS NOT NULL AND seq = 0 AND kind IN ('due', 'follow_up', 'missed')"
    )


def downgrade():
    with op.batch_alter_table("reminder_occurrence", schema=None) as batch_op:
        batch_op.drop_column("application_due_at")
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.drop_column("failure")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("refusals")
