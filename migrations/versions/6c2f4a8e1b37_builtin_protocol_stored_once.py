"""builtin protocol stored once

Revision ID: 6c2f4a8e1b37
Revises: 7c4d2e9f1a30
Create Date: 2026-11-30 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6c2f4a8e1b37'
down_revision = '7c4d2e9f1a30'
branch_labels = None
depends_on = None


def upgrade():
    # A race could store a shipped protocol twice (the unique constraint treats NULL clinic
    # ids as distinct): keep the first row of each and move its courses onto it.
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, key, version FROM protocol_version WHERE clinic_id IS NULL ORDER BY id")
    ).all()
    first: dict = {}
    for row_id, key, version in rows:
        keep = first.setdefault((key, version), row_id)
        if keep != row_id:
            conn.execute(
                sa.text("UPDATE course SET protocol_version_id = :keep WHERE protocol_version_id = :dup"),
                {"keep": keep, "dup": row_id},
            )
            conn.execute(sa.text("DELETE FROM protocol_version WHERE id = :dup"), {"dup": row_id})
    with op.batch_alter_table('protocol_version', schema=None) as batch_op:
        batch_op.create_index(
            'uq_protocol_version_builtin',
            ['key', 'version'],
            unique=True,
            sqlite_where=sa.text('clinic_id IS NULL'),
            postgresql_where=sa.text('clinic_id IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('protocol_version', schema=None) as batch_op:
        batch_op.drop_index(
            'uq_protocol_version_builtin',
            sqlite_where=sa.text('clinic_id IS NULL'),
            postgresql_where=sa.text('clinic_id IS NULL'),
        )
