"""a goal's pull request on the Git host (bot/forge/delivery.py)

Revision ID: 0013_forge_pull_requests
Revises: 0012_codex_approvals
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.audit


revision = '0013_forge_pull_requests'
down_revision = '0012_codex_approvals'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pull_requests',
    sa.Column('goal_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('repo', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('updated_at', storage.audit.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], ),
    sa.PrimaryKeyConstraint('goal_id')
    )


def downgrade() -> None:
    op.drop_table('pull_requests')
