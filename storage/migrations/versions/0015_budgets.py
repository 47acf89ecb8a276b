"""a goal's budget in US dollars of model usage (bot/services/budgets.py)

Revision ID: 0015_budgets
Revises: 0013_forge_pull_requests
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_budgets'
down_revision = '0013_forge_pull_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('goals') as batch:
        batch.add_column(sa.Column('budget_usd', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('goals') as batch:
        batch.drop_column('budget_usd')
