"""Codex approval requests: what a build asked to do outside its sandbox, and the decision

Revision ID: 0012_codex_approvals
Revises: 0011_scale_inbox_claims
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import storage.audit


revision = '0012_codex_approvals'
down_revision = '0011_scale_inbox_claims'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('codex_approvals',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('goal_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('command', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('decided_at', storage.audit.UTCDateTime(), nullable=True),
    sa.Column('message_ts', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', storage.audit.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], ),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_codex_approvals_goal_id'), 'codex_approvals', ['goal_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_codex_approvals_goal_id'), table_name='codex_approvals')
    op.drop_table('codex_approvals')
