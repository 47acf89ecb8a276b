"""request bodies the front door has taken, for refusing replays (see storage/replay.py)

On SQLite the front door keeps them next to the inbox (`orch.inbox.db`) and the table here stays
empty; on PostgreSQL it is used here.

Revision ID: 0007_authority_seen_requests
Revises: 0006_audit_keyed_chain
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_authority_seen_requests'
down_revision = '0006_audit_keyed_chain'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('slack_seen_requests',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('digest'),
    )
    op.create_index('ix_slack_seen_requests_seen_at', 'slack_seen_requests', ['seen_at'])


def downgrade() -> None:
    op.drop_index('ix_slack_seen_requests_seen_at', table_name='slack_seen_requests')
    op.drop_table('slack_seen_requests')
