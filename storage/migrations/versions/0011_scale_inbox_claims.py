"""inbox rows claimed by several workers on PostgreSQL (see storage/inbox.py)

`goal_key` orders the requests of one goal; `claimed_by` and `claimed_at` say which worker runs a
request and since when (it renews the claim while it runs; a claim left to age is a dead worker's);
`done_at` repeats `slack_inbox_done` on the row itself, so that the rows still to do are found
through a partial index instead of by an anti-join over a day of finished requests.

Revision ID: 0011_scale_inbox_claims
Revises: 0010_outbox_failing_since
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_scale_inbox_claims'
down_revision = '0010_outbox_failing_since'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('slack_inbox') as batch:
        batch.add_column(sa.Column('goal_key', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('claimed_at', sa.Float(), nullable=True))
        batch.add_column(sa.Column('done_at', sa.Float(), nullable=True))
    # Requests finished before this revision: done on the row as well.
    op.execute(
        'UPDATE slack_inbox SET done_at = '
        '(SELECT d.done_at FROM slack_inbox_done d WHERE d.id = slack_inbox.id)'
    )
    undone = sa.text('done_at IS NULL')
    op.create_index('ix_slack_inbox_undone', 'slack_inbox', ['id'], postgresql_where=undone, sqlite_where=undone)
    op.create_index(
        'ix_slack_inbox_undone_goal', 'slack_inbox', ['goal_key', 'id'], postgresql_where=undone, sqlite_where=undone
    )


def downgrade() -> None:
    op.drop_index('ix_slack_inbox_undone_goal', table_name='slack_inbox')
    op.drop_index('ix_slack_inbox_undone', table_name='slack_inbox')
    with op.batch_alter_table('slack_inbox') as batch:
        batch.drop_column('done_at')
        batch.drop_column('claimed_at')
        batch.drop_column('claimed_by')
        batch.drop_column('goal_key')
