"""the deployment's identity (one generated id per database; run records carry it)

Revision ID: 0009_metrics_deployment
Revises: 0008_guard_reviews
"""
from alembic import op
import sqlalchemy as sa

import storage.audit

revision = '0009_metrics_deployment'
down_revision = '0008_guard_reviews'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deployment_identity',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('deployment_id', sa.String(), nullable=False),
    sa.Column('created_at', storage.audit.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key'),
    )


def downgrade() -> None:
    op.drop_table('deployment_identity')
