"""several repositories: a goal's repository and a channel's default (bot/forge/targets.py)

Revision ID: 0014_repos
Revises: 0013_forge_pull_requests
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.audit


revision = '0014_repos'
down_revision = '0013_forge_pull_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('goals') as batch:
        batch.add_column(sa.Column('repo', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_table('channel_repos',
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('repo', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('updated_at', storage.audit.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel_id')
    )


def downgrade() -> None:
    op.drop_table('channel_repos')
    with op.batch_alter_table('goals') as batch:
        batch.drop_column('repo')
