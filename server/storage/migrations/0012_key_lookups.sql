-- A row read by its primary key (account_id, id) was read, on a table not yet analysed (a new
-- install's first minute, before autovacuum's first ANALYZE), through another index led by
-- account_id: the generic plan took that index's account_id for the key and filtered on id,
-- reading every row of the account to find one. Foreign key checks are such lookups, planned
-- once per session and kept:
--   - each accepted lead's job checked its lead through leads_campaign_time
--     (bench/distribution.py: about a thousand index entries read per lead at two thousand
--     leads, growing with every lead; PostgreSQL's CPU per lead fell by a quarter without it);
--   - each send checked its buyer and its delivery account through their key indexes.
-- The other indexes are rebuilt with account_id after the columns their own queries fix, so
-- no plan can take them for a primary key. Ids are unique across accounts, so account_id can
-- go last. An ON CONFLICT target names the columns, not their order: the upserts on these
-- constraints are unchanged. tests/integration/test_migrations.py checks every table.
--
-- posts_campaign_time, led by account_id too, is dropped: no query reads posts by campaign.

DROP INDEX leads_campaign_time;
CREATE INDEX leads_campaign_time ON leads (campaign_id, received_at);

DROP INDEX posts_campaign_time;

ALTER TABLE clients DROP CONSTRAINT clients_account_id_key_key,
    ADD CONSTRAINT clients_account_id_key_key UNIQUE (key, account_id);

ALTER TABLE delivery_accounts DROP CONSTRAINT delivery_accounts_account_id_client_id_key_key,
    ADD CONSTRAINT delivery_accounts_account_id_client_id_key_key
        UNIQUE (client_id, key, account_id);

DROP INDEX lead_fields_name;
CREATE UNIQUE INDEX lead_fields_name ON lead_fields (lead_type_id, lower(name), account_id);
