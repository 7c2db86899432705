"""dispatcher heartbeat

Revision ID: 5b1e0c7d9a21
Revises: 8ea4f4028b17
Create Date: 2026-11-30 10:05:00

"""
from alembic import op
import sqlalchemy as sa
import anagen.models.base


# revision identifiers, used by Alembic.
revision = '5b1e0c7d9a21'
down_revision = '8ea4f4028b17'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dispatcher_heartbeat',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('beat_at', anagen.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_dispatcher_heartbeat'))
    )
    with op.batch_alter_table('dispatcher_heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatcher_heartbeat_beat_at'), ['beat_at'], unique=False)


def downgrade():
    with op.batch_alter_table('dispatcher_heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatcher_heartbeat_beat_at'))
    op.drop_table('dispatcher_heartbeat')
