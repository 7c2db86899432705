"""clinic phone, locations, default reminder time

Revision ID: c41f0e8b7a2d
Revises: a7d3c915e2b4
Create Date: 2026-11-30 12:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c41f0e8b7a2d'
down_revision = 'a7d3c915e2b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('locations', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('default_reminder_time', sa.Time(), nullable=True))
    op.execute("UPDATE clinic SET locations = '[]'")
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.alter_column('locations', existing_type=sa.JSON(), nullable=False)


def downgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('default_reminder_time')
        batch_op.drop_column('locations')
        batch_op.drop_column('phone')
