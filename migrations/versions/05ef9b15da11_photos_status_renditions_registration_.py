"""photos: status, renditions, registration, comments, outcome measures

Revision ID: 05ef9b15da11
Revises: 6c2f4a8e1b37
Create Date: 2026-11-30 11:33:55.723320

"""
from alembic import op
import sqlalchemy as sa
import anagen.models.base


# revision identifiers, used by Alembic.
revision = '05ef9b15da11'
down_revision = '6c2f4a8e1b37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outcome_measure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('checkpoint', sa.String(length=40), nullable=False),
    sa.Column('target_area', sa.String(length=40), nullable=False),
    sa.Column('measured_at', anagen.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('hair_count_per_cm2', sa.Float(), nullable=True),
    sa.Column('cumulative_thickness_mm_per_cm2', sa.Float(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', anagen.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', anagen.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_outcome_measure_course_id_course')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_outcome_measure_patient_id_patient')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff_user.id'], name=op.f('fk_outcome_measure_recorded_by_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_measure')),
    sa.UniqueConstraint('course_id', 'checkpoint', 'target_area', name=op.f('uq_outcome_measure_course_id_checkpoint_target_area'))
    )
    with op.batch_alter_table('outcome_measure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcome_measure_patient_id'), ['patient_id'], unique=False)

    op.create_table('photo_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.Column('author_staff_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', anagen.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_staff_id'], ['staff_user.id'], name=op.f('fk_photo_comment_author_staff_id_staff_user')),
    sa.ForeignKeyConstraint(['photo_id'], ['photo.id'], name=op.f('fk_photo_comment_photo_id_photo')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_comment'))
    )
    with op.batch_alter_table('photo_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_comment_photo_id'), ['photo_id'], unique=False)

    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.Enum('active', 'withdrawn', name='photostatus', native_enum=False, length=20), server_default='active', nullable=False))
        batch_op.add_column(sa.Column('display_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('thumb_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('source_media_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('byte_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('display_width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('display_height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('uploaded_by_staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', anagen.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('registration_status', sa.Enum('not_needed', 'pending', 'registered', 'low_confidence', 'manual', 'failed', name='registrationstatus', native_enum=False, length=20), server_default='pending', nullable=False))
        batch_op.add_column(sa.Column('registration_reference_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('registration_transform', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('registration_inlier_ratio', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('registration_inliers', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('registration_landmarks', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('registered_at', anagen.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('registered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('aligned_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('registration_lease_until', anagen.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('registration_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_photo_awaiting_review', ['status', 'reviewed_at'], unique=False)
        batch_op.create_index('ix_photo_registration_pending', ['registration_status', 'registration_lease_until'], unique=False)
        batch_op.create_index('uq_photo_active_content', ['patient_id', 'checkpoint', 'view', 'content_hash'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.create_foreign_key(batch_op.f('fk_photo_uploaded_by_staff_id_staff_user'), 'staff_user', ['uploaded_by_staff_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_photo_registration_reference_id_photo'), 'photo', ['registration_reference_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_photo_registered_by_id_staff_user'), 'staff_user', ['registered_by_id'], ['id'])



def downgrade():
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_photo_registered_by_id_staff_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_photo_registration_reference_id_photo'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_photo_uploaded_by_staff_id_staff_user'), type_='foreignkey')
        batch_op.drop_index('uq_photo_active_content', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index('ix_photo_registration_pending')
        batch_op.drop_index('ix_photo_awaiting_review')
        batch_op.drop_column('registration_attempts')
        batch_op.drop_column('registration_lease_until')
        batch_op.drop_column('aligned_key')
        batch_op.drop_column('registered_by_id')
        batch_op.drop_column('registered_at')
        batch_op.drop_column('registration_landmarks')
        batch_op.drop_column('registration_inliers')
        batch_op.drop_column('registration_inlier_ratio')
        batch_op.drop_column('registration_transform')
        batch_op.drop_column('registration_reference_id')
        batch_op.drop_column('registration_status')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('uploaded_by_staff_id')
        batch_op.drop_column('display_height')
        batch_op.drop_column('display_width')
        batch_op.drop_column('byte_size')
        batch_op.drop_column('source_media_type')
        batch_op.drop_column('thumb_key')
        batch_op.drop_column('display_key')
        batch_op.drop_column('status')

    with op.batch_alter_table('photo_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_comment_photo_id'))

    op.drop_table('photo_comment')
    with op.batch_alter_table('outcome_measure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outcome_measure_patient_id'))

    op.drop_table('outcome_measure')
