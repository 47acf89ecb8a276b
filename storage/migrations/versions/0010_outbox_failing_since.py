"""effects.failing_since: when an effect's current run of failures began

The outbox retries a transient failure until the effect has been failing for a configured
horizon (hours); the horizon is counted from this time, not from when the effect was recorded
(an effect held back behind an earlier one of its goal has not failed while it waited).

Revision ID: 0010_outbox_failing_since
Revises: 0009_metrics_deployment
"""
from alembic import op
import sqlalchemy as sa

import storage.audit


revision = '0010_outbox_failing_since'
down_revision = '0009_metrics_deployment'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('effects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failing_since', storage.audit.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('effects', schema=None) as batch_op:
        batch_op.drop_column('failing_since')
