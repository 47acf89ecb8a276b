"""agent work is a job added in its goal's order, not an outbox effect that adds one

Revision ID: 0016_jobs_in_goal_order
Revises: 0015_budgets

`jobs.follows` (the goal's last effect recorded before the job) and `jobs.in_order` (the Scaffold
Check holds the goal's later repository effects). A database written by an earlier version may
still hold unfinished "draft" and "build" effects: each becomes the queued job it would have added,
in the same place of its goal's order, and the effect is marked done.
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = '0016_jobs_in_goal_order'
down_revision = '0015_budgets'
branch_labels = None
depends_on = None

AGENT_KINDS = ('draft', 'build')


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: nothing is copied (a table rebuilt by batch mode would
    # leave its old pages free in an SQLite file).
    op.add_column('jobs', sa.Column('follows', sa.Integer(), nullable=True))
    op.add_column('jobs', sa.Column('in_order', sa.Boolean(create_constraint=False), nullable=False,
                                    server_default=sa.false()))
    effects = sa.table(
        'effects',
        sa.column('id', sa.Integer), sa.column('key', sa.String), sa.column('kind', sa.String),
        sa.column('goal_id', sa.String), sa.column('payload', sa.JSON), sa.column('status', sa.String),
        sa.column('created_at', sa.DateTime), sa.column('done_at', sa.DateTime),
    )
    jobs = sa.table(
        'jobs',
        sa.column('key', sa.String), sa.column('kind', sa.String), sa.column('goal_id', sa.String),
        sa.column('phase', sa.String), sa.column('description', sa.String), sa.column('payload', sa.JSON),
        sa.column('status', sa.String), sa.column('attempts', sa.Integer), sa.column('max_attempts', sa.Integer),
        sa.column('follows', sa.Integer), sa.column('in_order', sa.Boolean), sa.column('created_at', sa.DateTime),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(effects).where(effects.c.kind.in_(AGENT_KINDS), effects.c.status != 'done').order_by(effects.c.id)
    ).all()
    now = datetime.now(UTC)
    if bind.dialect.name == 'sqlite':  # stored as naive UTC there (storage.audit.UTCDateTime)
        now = now.replace(tzinfo=None)
    for row in rows:
        known = bind.execute(sa.select(jobs.c.key).where(jobs.c.key == row.key)).first()
        payload = dict(row.payload or {})
        if known is None:
            bind.execute(
                jobs.insert().values(
                    key=row.key, kind=row.kind, goal_id=row.goal_id, phase=payload.get('phase'),
                    description='', payload=payload, status='queued', attempts=0, max_attempts=3,
                    follows=row.id - 1, created_at=row.created_at or now,
                    in_order=row.kind == 'draft' and payload.get('phase') == 'scaffold_check',
                )
            )
        bind.execute(effects.update().where(effects.c.id == row.id).values(status='done', done_at=now))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('in_order')
        batch.drop_column('follows')
