"""re-reviews of approved artifacts (a new review date for the same sha256)

Revision ID: 0008_guard_reviews
Revises: 0007_authority_seen_requests
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import storage.audit


revision = '0008_guard_reviews'
down_revision = '0007_authority_seen_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('artifact_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('goal_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('phase', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('artifact_version', sa.Integer(), nullable=False),
    sa.Column('artifact_sha256', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', storage.audit.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], ),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_artifact_reviews_goal_id'), 'artifact_reviews', ['goal_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_artifact_reviews_goal_id'), table_name='artifact_reviews')
    op.drop_table('artifact_reviews')
