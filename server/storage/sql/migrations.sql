-- The bookkeeping of server/storage/migrations.py: which numbered migrations were applied,
-- under an advisory lock so concurrent starts apply each exactly once.

-- name: lock_migrations
-- Wait for any other process applying migrations to this database.
SELECT pg_advisory_lock(%(lock)s);

-- name: unlock_migrations
SELECT pg_advisory_unlock(%(lock)s);

-- name: create_schema_migrations
-- The record of applied migrations, made on first use.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- name: applied_migrations
SELECT version FROM schema_migrations;

-- name: record_migration
INSERT INTO schema_migrations (version, name) VALUES (%(version)s, %(name)s);

-- name: session_in_utc
-- Every pooled connection reads and writes times in UTC.
SET TIME ZONE 'UTC';
