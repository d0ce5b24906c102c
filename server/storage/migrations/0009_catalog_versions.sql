-- A version of each account's catalog (lead types, fields, sources, campaigns, rules,
-- passwords), bumped by every write to it, so a process may keep what a post's identifiers
-- resolve to and know, in the post's own transaction, whether it is still current.

CREATE TABLE catalog_versions (
    account_id bigint NOT NULL REFERENCES accounts,
    version    bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id)
);

CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalog_versions AS v (account_id)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.account_id ELSE NEW.account_id END)
    ON CONFLICT (account_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$$;

-- Triggers rather than a bump in each writing statement: every writer is covered, cascades
-- included. Deferred to commit, so a writer takes the version row's lock last, when it holds
-- every other lock it will take: two catalog writers cannot deadlock on it.
CREATE CONSTRAINT TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE ON lead_types
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_catalog_version();
CREATE CONSTRAINT TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE ON lead_fields
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_catalog_version();
CREATE CONSTRAINT TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE ON sources
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_catalog_version();
CREATE CONSTRAINT TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE ON campaigns
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_catalog_version();
CREATE CONSTRAINT TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE ON campaign_rules
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_catalog_version();

-- A post names its lead source by id alone (vid): find it without a scan.
CREATE INDEX sources_id ON sources (id);
