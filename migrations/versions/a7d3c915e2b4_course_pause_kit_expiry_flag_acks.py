"""course pause/end, kit expiry, flag acknowledgements

Revision ID: a7d3c915e2b4
Revises: 05ef9b15da11
Create Date: 2026-11-30 11:40:00

"""
from alembic import op
import sqlalchemy as sa
import anagen.models.base


# revision identifiers, used by Alembic.
revision = 'a7d3c915e2b4'
down_revision = '05ef9b15da11'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_at', anagen.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ended_at', anagen.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('status_reason', sa.String(length=500), nullable=True))

    with op.batch_alter_table('kit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_on', sa.Date(), nullable=True))

    op.create_table('flag_acknowledgement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('flag', sa.String(length=40), nullable=False),
    sa.Column('event_at', anagen.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('created_at', anagen.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_flag_acknowledgement_patient_id_patient')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_flag_acknowledgement_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_acknowledgement'))
    )
    with op.batch_alter_table('flag_acknowledgement', schema=None) as batch_op:
        batch_op.create_index('ix_flag_acknowledgement_patient_flag', ['patient_id', 'flag', 'event_at'], unique=False)


def downgrade():
    with op.batch_alter_table('flag_acknowledgement', schema=None) as batch_op:
        batch_op.drop_index('ix_flag_acknowledgement_patient_flag')

    op.drop_table('flag_acknowledgement')

    with op.batch_alter_table('kit', schema=None) as batch_op:
        batch_op.drop_column('expires_on')

    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_column('status_reason')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('paused_at')
