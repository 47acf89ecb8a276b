"""the Slack inbox of a web/worker split (see storage/inbox.py)

On SQLite the web process appends to a sibling file (`orch.inbox.db`) and `slack_inbox` here
stays empty; on PostgreSQL both tables are used here.

Revision ID: 0004_slack_inbox
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_slack_inbox'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('slack_inbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('received_at', sa.Float(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True,
    )
    op.create_table('slack_inbox_done',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('done_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('slack_inbox_done')
    op.drop_table('slack_inbox')
