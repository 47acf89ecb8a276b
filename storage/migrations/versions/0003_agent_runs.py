"""agent runs paused for approval (Agents SDK RunState)

Revision ID: 0003_agent_runs
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import storage.audit


revision = '0003_agent_runs'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_runs',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('goal_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state_json', sa.Text(), nullable=True),
    sa.Column('context_json', sa.Text(), nullable=False),
    sa.Column('pending_tool', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('artifact_sha256', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('final_output', sa.Text(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', storage.audit.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.audit.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agent_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_runs_goal_id'), ['goal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_runs_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agent_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_runs_status'))
        batch_op.drop_index(batch_op.f('ix_agent_runs_goal_id'))
    op.drop_table('agent_runs')
