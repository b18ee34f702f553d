"""The schema (SQLAlchemy Core). Migrations in storage/migrations create the same tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_OPEN = "'pending', 'retrying', 'running', 'held', 'needs_attention', 'on_feed', 'fetched'"
_FINISHED = "'delivered', 'cancelled'"
_HEALTH = _OPEN + ", 'failed'"  # what a client's health counts (domain/health.py)

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")

partners = Table(
    "partners",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("roles", String(200), nullable=False, server_default=""),
    Column("password_hash", String(200), nullable=False, server_default=""),
    Column("created_at", DateTime, nullable=False),
    Column("locale", String(10), nullable=False, server_default=""),  # "": from the browser
)

# Signed-in browsers. The cookie holds a random token; only its SHA-256 is stored, so a
# copy of the database cannot be replayed as a session.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

# Failed sign-ins per account and per address, for the growing lockout delay.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("key", String(300), primary_key=True),  # "account:<e-mail>" or "address:<ip>"
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", DateTime, nullable=False),
    Column("locked_until", DateTime, nullable=True),
)

clients = Table(
    "clients",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("uen_number", String(20), nullable=False, server_default=""),
    Column("vat_number", String(20), nullable=False, server_default=""),
    Column("external_ref", String(40), nullable=False, server_default=""),
    Column("status", String(20), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("country", String(2), nullable=False, server_default=""),
    Column("contact_email", String(254), nullable=False, server_default=""),
    Column("contact_first_name", String(100), nullable=False, server_default=""),
    Column("contact_last_name", String(100), nullable=False, server_default=""),
    Column("contact_locale", String(10), nullable=False, server_default=""),
)

assignments = Table(
    "assignments",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("client_id", Id, ForeignKey("clients.id"), primary_key=True),
    Column("access", String(10), nullable=False),
)

# The client each business user (a user whose role is "business") belongs to: one only.
business_users = Table(
    "business_users",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False, index=True),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False, index=True),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("direction", String(10), nullable=True),
    Column("filename", String(255), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("number", String(100), nullable=False, server_default=""),
    Column("issue_date", String(10), nullable=False, server_default=""),
    Column("metadata", JSON, nullable=False),
    Column("lifecycle", String(20), nullable=False),
    Column("accounting_status", String(30), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("released_at", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
    # Why a person must look before accounting software books it ("" = no need), and
    # who did (migration 0017).
    Column("review_reason", String(1000), nullable=False, server_default=""),
    Column("reviewed_at", DateTime, nullable=True),
    Column("reviewed_by", String(255), nullable=False, server_default=""),
    Index("ix_documents_client_number", "client_id", "number"),  # duplicate checks
)

document_files = Table(
    "document_files",
    metadata,
    Column("id", Id, primary_key=True),
    Column("document_id", Id, ForeignKey("documents.id"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    UniqueConstraint("document_id", "role"),
)

installations = Table(
    "installations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False, index=True),
    Column("extension", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("config", JSON, nullable=False),
    Column("secrets", Text, nullable=False, server_default=""),  # sealed by the secret box
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

integrations = Table(
    "integrations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False, index=True),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False, index=True),
    Column("installation_id", Id, ForeignKey("installations.id"), nullable=False, index=True),
    Column("config", JSON, nullable=False),
    Column("secrets", Text, nullable=False, server_default=""),
    Column("status", String(20), nullable=False),
    Column("status_reason", Text, nullable=False, server_default=""),
    Column("activated_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("client_id", "installation_id"),
)

exports = Table(
    "exports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("document_id", Id, ForeignKey("documents.id"), nullable=False, index=True),
    Column("integration_id", Id, ForeignKey("integrations.id"), nullable=False, index=True),
    Column("installation_id", Id, ForeignKey("installations.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # Tries made before the last manual retry: the retry schedule restarts from here.
    Column("schedule_base", Integer, nullable=False, server_default="0"),
    # When the export is next due: the retry time, or the lease's end while it is running.
    Column("due_at", DateTime, nullable=True),
    Column("lease_owner", String(100), nullable=False, server_default=""),
    Column("last_error_class", String(20), nullable=True),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("receipt", JSON, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("delivered_at", DateTime, nullable=True),
    UniqueConstraint("document_id", "integration_id", "version"),
    # The claim's order: the first due exports by (due_at, id), read along this index
    # even when thousands were released together (one due time) (migration 0028).
    Index(
        "ix_exports_due",
        "due_at",
        "id",
        postgresql_where=text("state IN ('pending', 'retrying', 'running')"),
        sqlite_where=text("state IN ('pending', 'retrying', 'running')"),
    ),
    # A firm's exports in one state, newest first: a page of the ledger filtered by state
    # is a range of this index, never a sort of all of them.
    Index("ix_exports_partner_state", "partner_id", "state", "id"),
    # The ledger's pages, newest first by id (a keyset: stable while rows are added or
    # change state); the second serves the integration filter without a sort.
    Index("ix_exports_ledger", "partner_id", "id"),
    Index("ix_exports_ledger_integration", "partner_id", "integration_id", "id"),
    # The home page's deliveries today, of one firm only.
    Index("ix_exports_partner_delivered", "partner_id", "delivered_at"),
    Index(
        "ix_exports_running",
        "installation_id",
        postgresql_where=text("state = 'running'"),
        sqlite_where=text("state = 'running'"),
    ),
    Index(
        "ix_exports_open_per_integration",
        "integration_id",
        "id",
        postgresql_where=text(f"state IN ({_OPEN})"),
        sqlite_where=text(f"state IN ({_OPEN})"),
    ),
    # A client's health, counted per integration along this index alone (an index-only
    # scan): its exports waiting or needing attention (repositories/client_list.py).
    Index(
        "ix_exports_health",
        "integration_id",
        "state",
        postgresql_where=text(f"state IN ({_HEALTH})"),
        sqlite_where=text(f"state IN ({_HEALTH})"),
    ),
    # Open exports by state: the /metrics scrape counts them along this index alone
    # (an index-only scan), never visiting the table's pages (monitoring/ledger_metrics.py).
    Index(
        "ix_exports_open_state",
        "state",
        postgresql_where=text(f"state IN ({_OPEN})"),
        sqlite_where=text(f"state IN ({_OPEN})"),
    ),
    # Pruning. Partial, so that it covers only finished exports: SQLite's planner, which
    # has no statistics, would otherwise pick it for claims over ix_exports_due.
    Index(
        "ix_exports_finished",
        "updated_at",
        postgresql_where=text(f"state IN ({_FINISHED})"),
        sqlite_where=text(f"state IN ({_FINISHED})"),
    ),
)

# OAuth sign-ins under way: the `state` sent to the provider (only its SHA-256 kept), bound
# to the partner, the person and the installation; taken once, when the provider answers.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=True),  # None: the operator
    Column("installation_id", Id, ForeignKey("installations.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("code_verifier", Text, nullable=False, server_default=""),  # PKCE, sealed
)

# Shared pacing state per installation: every worker process reads and updates it inside
# its claim transaction, so limits hold across processes and machines.
pacing = Table(
    "pacing",
    metadata,
    Column("installation_id", Id, ForeignKey("installations.id"), primary_key=True),
    Column("minute_start", DateTime, nullable=True),
    Column("minute_calls", Integer, nullable=False, server_default="0"),
    Column("day_start", DateTime, nullable=True),
    Column("day_calls", Integer, nullable=False, server_default="0"),
    Column("hour_start", DateTime, nullable=True),
    Column("hour_errors", Integer, nullable=False, server_default="0"),
    Column("blocked_until", DateTime, nullable=True),
    Column("blocked_reason", Text, nullable=False, server_default=""),
)

# Calls per account inside an installation (Exact Online: per company), for targets that
# count calls, not tries (delivery/call_pacer.py). Times are epoch seconds.
# An export's open upload session at a cloud provider (delivery/upload_sessions.py), so
# the next try resumes it; the handle is sealed (the address is a credential).
upload_sessions = Table(
    "upload_sessions",
    metadata,
    Column("export_key", String(100), primary_key=True),
    Column("installation_id", Id, nullable=False),
    Column("handle", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("confirmed", BigInteger, nullable=False, server_default="0"),
    Column("expires_at", Float, nullable=False, index=True),
)

call_windows = Table(
    "call_windows",
    metadata,
    Column("installation_id", Id, ForeignKey("installations.id"), primary_key=True),
    Column("account", String(100), primary_key=True),
    Column("next_at", Float, nullable=False, server_default="0"),
    Column("day_start", Float, nullable=False, server_default="0"),
    Column("day_calls", Integer, nullable=False, server_default="0"),
    Column("hour_start", Float, nullable=False, server_default="0"),
    Column("hour_errors", Integer, nullable=False, server_default="0"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("export_id", Id, ForeignKey("exports.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("worker", String(100), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("outcome", String(20), nullable=False),
    Column("error_class", String(20), nullable=True),
    Column("message", Text, nullable=False, server_default=""),
    UniqueConstraint("export_id", "number"),
)

# Configuration templates (product.md §1.3): what a new client gets on creation (its team
# and its integrations), and what can be applied later to an existing client.
configuration_templates = Table(
    "configuration_templates",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("partner_id", "name"),
)

template_users = Table(
    "template_users",
    metadata,
    Column("template_id", Id, ForeignKey("configuration_templates.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("access", String(10), nullable=False),
)

# An installation a template adds, with the client's values (no secrets: those are set on
# each client's integration).
template_integrations = Table(
    "template_integrations",
    metadata,
    Column("template_id", Id, ForeignKey("configuration_templates.id"), primary_key=True),
    Column("installation_id", Id, ForeignKey("installations.id"), primary_key=True),
    Column("config", JSON, nullable=False),
)

# A backfill: one integration's documents released between two days that it has not
# received, queued a window at a time through the ledger; resumable from its cursor.
backfills = Table(
    "backfills",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("integration_id", Id, ForeignKey("integrations.id"), nullable=False, index=True),
    Column("since", String(10), nullable=False),  # YYYY-MM-DD, the release day, included
    Column("until", String(10), nullable=False),  # included
    Column("resend_delivered", Boolean, nullable=False),
    Column("state", String(20), nullable=False),  # running, stopped, finished
    Column("total", Integer, nullable=False),
    Column("queued", Integer, nullable=False, server_default="0"),
    Column("cursor", Id, nullable=False, server_default="0"),  # the last document id queued
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

backfill_exports = Table(
    "backfill_exports",
    metadata,
    Column("backfill_id", Id, ForeignKey("backfills.id"), primary_key=True),
    Column("export_id", Id, ForeignKey("exports.id"), primary_key=True),
)

# The audit trail: every change to configuration and access, append-only, hash-chained per
# partner (each row's hash covers the previous row's hash and its own canonical JSON, so an
# edited, deleted or reordered row breaks the chain: `passeur audit verify`).
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("seq", Id, nullable=False),  # 1, 2, 3… within the partner
    Column("at", DateTime, nullable=False),
    Column("actor", String(300), nullable=False),  # "user a@firm.be", "the operator"
    Column("origin", String(100), nullable=False),  # an IP address, or "cli"
    Column("action", String(60), nullable=False),  # "installation.update"
    Column("subject", String(60), nullable=False),  # "installation"
    Column("subject_id", Id, nullable=True),
    Column("client_id", Id, nullable=True),
    Column("integration_id", Id, nullable=True),
    Column("before", Text, nullable=False),  # canonical JSON, secrets masked
    Column("after", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("partner_id", "seq"),
    Index("ix_audit_events_partner_client", "partner_id", "client_id", "seq"),
    Index("ix_audit_events_partner_integration", "partner_id", "integration_id", "seq"),
)

# The end of each partner's chain: appends lock this row, so concurrent writers queue
# instead of forking the chain; verify checks the last row against it (a cut tail).
audit_heads = Table(
    "audit_heads",
    metadata,
    Column("partner_id", Id, ForeignKey("partners.id"), primary_key=True),
    Column("seq", Id, nullable=False),
    Column("hash", String(64), nullable=False),
)

# The REST API (/api/v1). An API client belongs to one partner and holds scopes; its
# secret, its bearer tokens and its personal access tokens are stored as SHA-256 digests
# only (they are long random strings: a digest cannot be guessed back, and a copy of the
# database cannot be replayed).
api_clients = Table(
    "api_clients",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("client_key", String(64), nullable=False, unique=True),  # the OAuth client_id
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", String(1000), nullable=False),  # space-separated
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

# Bearer tokens: short-lived access tokens (client credentials) and personal access tokens.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("id", String(32), nullable=False, unique=True),  # names a token without its value
    Column("api_client_id", Id, ForeignKey("api_clients.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # access | personal
    Column("name", String(200), nullable=False, server_default=""),
    Column("scopes", String(1000), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

# One row per API client: its current rate-limit window, shared by every web process.
api_rates = Table(
    "api_rates",
    metadata,
    Column("api_client_id", Id, ForeignKey("api_clients.id"), primary_key=True),
    Column("window_start", DateTime, nullable=False),
    Column("used", Integer, nullable=False),
)

# The first answer to each POST with an Idempotency-Key, for 24 hours.
api_idempotency = Table(
    "api_idempotency",
    metadata,
    Column("api_client_id", Id, ForeignKey("api_clients.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=True),  # None: the first request is still running
    Column("content_type", String(200), nullable=False, server_default=""),
    Column("body", Text, nullable=False, server_default=""),
    Column("created_at", DateTime, nullable=False, index=True),
)

# Partner events (webhooks): where a partner wants to hear of them, filtered by event type
# and client (an empty list: every one). The signing secret is sealed by the secret box.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("client_ids", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("disabled_reason", Text, nullable=False, server_default=""),
    # Pacing: events in flight at once (1-4), and no call before `paused_until`
    # (the endpoint's Retry-After).
    Column("max_concurrent", Integer, nullable=False, server_default="1"),
    Column("paused_until", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# The events' outbox and their delivery queue: one row per event and subscription,
# written in the transaction of the change it describes, claimed under a lease like an
# export. `webhook_id` is the event's stable id (the same on every try).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column(
        "subscription_id", Id, ForeignKey("webhook_subscriptions.id"), nullable=False, index=True
    ),
    Column("event_type", String(40), nullable=False),
    Column("webhook_id", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("due_at", DateTime, nullable=True),
    Column("lease_owner", String(100), nullable=False, server_default=""),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("delivered_at", DateTime, nullable=True),
    Index(
        "ix_webhook_deliveries_due",
        "due_at",
        postgresql_where=text("state IN ('pending', 'retrying', 'running')"),
        sqlite_where=text("state IN ('pending', 'retrying', 'running')"),
    ),
)

# Notifications: one row per person and cause, written in the transaction of the change
# that causes it (the outbox), shown in the UI, and mailed by a worker under a lease
# (mail_state "sending", mail_due_at the lease's end). Rows mailed together share their
# mail_key, which is also the mail's Message-ID, the same on every try.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("cause", String(40), nullable=False),
    Column("client_id", Id, nullable=True),
    Column("integration_id", Id, nullable=True),
    Column("installation_id", Id, nullable=True),
    Column("details", JSON, nullable=False),  # names and the reason, as they were then
    Column("created_at", DateTime, nullable=False),
    Column("read_at", DateTime, nullable=True),
    Column("mail_state", String(20), nullable=False),
    Column("mail_due_at", DateTime, nullable=True),
    Column("mail_key", String(80), nullable=False, server_default=""),
    Column("mail_attempts", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(100), nullable=False, server_default=""),
    Column("mail_error", Text, nullable=False, server_default=""),
    Column("sent_at", DateTime, nullable=True),
    Index("ix_notifications_user_id_id", "user_id", "id"),
    Index(
        "ix_notifications_mail_due",
        "mail_due_at",
        postgresql_where=text("mail_state IN ('waiting', 'sending')"),
        sqlite_where=text("mail_state IN ('waiting', 'sending')"),
    ),
)

# The firm's choice (how often, and after how many days without a delivered export to
# warn), and each user's own, when they chose one.
notification_settings = Table(
    "notification_settings",
    metadata,
    Column("partner_id", Id, ForeignKey("partners.id"), primary_key=True),
    Column("mode", String(20), nullable=False),
    Column("stale_days", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
notification_overrides = Table(
    "notification_overrides",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("partner_id", Id, ForeignKey("partners.id"), nullable=False),
    Column("mode", String(20), nullable=False),
)

# When a person was last mailed about a cause of a subject ("integration:12"): the
# hourly cap, kept as a row so that concurrent workers see one another's mails.
notification_caps = Table(
    "notification_caps",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("subject", String(40), primary_key=True),
    Column("cause", String(40), primary_key=True),
    Column("last_mailed_at", DateTime, nullable=False),
)
