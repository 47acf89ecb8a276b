"""audit_log.key_id: the key an entry's HMAC was made with (NULL for legacy sha256 entries)

Existing entries keep NULL and go on verifying as plain sha256; entries written once a key is
configured are keyed (see storage/audit_keys.py).

Revision ID: 0006_audit_keyed_chain
Revises: 0005_merge_heads
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006_audit_keyed_chain'
down_revision = '0005_merge_heads'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_log', sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    # Keyed entries no longer verify once their key id is gone; downgrade only a log without them.
    op.drop_column('audit_log', 'key_id')
