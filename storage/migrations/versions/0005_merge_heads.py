"""one line of migrations from here on: the four revisions that each grew from 0001 meet

Revision ID: 0005_merge_heads
Revises: 0002_jobs, 0002_slack_surface, 0003_agent_runs, 0004_slack_inbox
"""

revision = '0005_merge_heads'
down_revision = ('0002_jobs', '0002_slack_surface', '0003_agent_runs', '0004_slack_inbox')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
