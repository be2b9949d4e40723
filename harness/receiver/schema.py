"""Schema and migrations, one list for both dialects.

Each migration is a list of statements with ``{serial}`` / ``{text}`` / ``{bigint}`` holes
filled per dialect. ``migrate`` runs the missing ones in one transaction, serialised across
processes (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so several
gunicorn workers may start at once.

The uniqueness constraints are the receiver's safety net, not decoration:
``webhook_events.event_id`` makes a duplicate delivery a no-op; ``outbox.dedup_key``
makes a task exist once per order; ``allocations.task_key`` / ``commissions.task_key``
make a task's effect happen once even if two workers ran it.
"""
from __future__ import annotations

DIALECT_TYPES = {
    "sqlite": {"serial": "INTEGER PRIMARY KEY", "text": "TEXT", "bigint": "INTEGER", "without_rowid": " WITHOUT ROWID"},
    "postgresql": {"serial": "BIGSERIAL PRIMARY KEY", "text": "TEXT", "bigint": "BIGINT", "without_rowid": ""},
}

MIGRATIONS = [
    # 1: the whole initial schema
    [
        """CREATE TABLE IF NOT EXISTS orders (
            id {text} PRIMARY KEY,
            site_code {text} NOT NULL,
            tier_id {text} NOT NULL,
            quantity {bigint} NOT NULL,
            amount {bigint} NOT NULL,
            currency {text} NOT NULL,
            tokens {bigint} NOT NULL,
            referrer {text},
            status {text} NOT NULL,
            stripe_payment_intent_id {text} UNIQUE,
            client_secret {text},
            payment_method {text},
            paid_at {text},
            failed_at {text},
            canceled_at {text},
            refunded_at {text},
            created_at {text} NOT NULL,
            updated_at {text} NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS webhook_events (
            event_id {text} PRIMARY KEY,
            event_type {text} NOT NULL,
            status {text} NOT NULL,
            order_id {text},
            received_at {text} NOT NULL
        ){without_rowid}""",
        """CREATE TABLE IF NOT EXISTS pending_events (
            event_id {text} PRIMARY KEY,
            event_type {text} NOT NULL,
            order_ref {text},
            payment_intent_id {text},
            payload {text} NOT NULL,
            received_at {text} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS pending_events_order_ref ON pending_events (order_ref)",
        "CREATE INDEX IF NOT EXISTS pending_events_pi ON pending_events (payment_intent_id)",
        """CREATE TABLE IF NOT EXISTS outbox (
            id {serial},
            order_id {text} NOT NULL,
            kind {text} NOT NULL,
            dedup_key {text} NOT NULL UNIQUE,
            status {text} NOT NULL,
            attempts {bigint} NOT NULL DEFAULT 0,
            last_error {text},
            created_at {text} NOT NULL,
            done_at {text}
        )""",
        "CREATE INDEX IF NOT EXISTS outbox_ready ON outbox (id) WHERE status = 'ready'",
        """CREATE TABLE IF NOT EXISTS allocations (
            id {serial},
            order_id {text} NOT NULL,
            task_key {text} NOT NULL UNIQUE,
            tokens {bigint} NOT NULL,
            created_at {text} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS allocations_order ON allocations (order_id)",
        """CREATE TABLE IF NOT EXISTS commissions (
            id {serial},
            order_id {text} NOT NULL,
            task_key {text} NOT NULL UNIQUE,
            beneficiary {text} NOT NULL,
            rate_bps {bigint} NOT NULL,
            amount {bigint} NOT NULL,
            created_at {text} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS commissions_order ON commissions (order_id)",
        """CREATE TABLE IF NOT EXISTS disputes (
            id {text} PRIMARY KEY,
            order_id {text} NOT NULL,
            charge_id {text},
            amount {bigint},
            reason {text},
            status {text},
            created_at {text} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS disputes_order ON disputes (order_id)",
        """CREATE TABLE IF NOT EXISTS notifications (
            id {serial},
            kind {text} NOT NULL,
            order_id {text},
            message {text} NOT NULL,
            created_at {text} NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS faults (
            name {text} PRIMARY KEY,
            remaining {bigint} NOT NULL,
            value {bigint} NOT NULL DEFAULT 0
        )""",
    ],
    # 2: the money an order shows (docs/CONTRACT.md, "## Money"): the cumulative refunds
    # Stripe reports for its payment, and why a payment was not accepted.
    [
        "ALTER TABLE orders ADD COLUMN amount_refunded {bigint} NOT NULL DEFAULT 0",
        "ALTER TABLE orders ADD COLUMN payment_error {text}",
    ],
]


def migrate(db) -> int:
    """Bring the schema up to date; return the version now in place."""
    types = DIALECT_TYPES[db.dialect]
    # The version table is created outside the migration transaction: harmless if two
    # processes race on it (IF NOT EXISTS), and the migration itself is serialised below.
    with db.transaction() as tx:
        if db.dialect == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(424242)")
        tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version {bigint} NOT NULL)".format(**types))
        row = tx.one("SELECT MAX(version) FROM schema_version")
        current = int(row[0] or 0) if row else 0
        for number, statements in enumerate(MIGRATIONS, start=1):
            if number <= current:
                continue
            for statement in statements:
                tx.execute(statement.format(**types))
            tx.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
            current = number
    return current
